package ref

// Resolve makes a relative ref absolute against base (docs/refs.md §6):
//
//  1. a global, non-relative or empty ref is returned unchanged;
//  2. repo "" or "." takes base's repo (none → E_NO_REPO);
//  3. file "" or "." takes base's file;
//  4. without a marker, base's marker and value are taken; an explicit
//     marker is kept, even with an empty value ("./@/…" means current);
//  5. a type without a marker after that → E_NO_RELEASE;
//  6. the fragment is kept and the result is checked against the length
//     limits (E_TOO_LONG).
//
// Errors are *Error whose Input is r's canonical form.
func (r Ref) Resolve(base Ref) (Ref, error) {
	if !r.IsRelative() {
		return r, nil
	}
	in := r.String()
	out := r
	if r.Repo == "" || r.Repo == "." {
		if base.Repo == "" || base.Repo == "." || base.Global {
			return Ref{}, errNoRepo(in)
		}
		out.Repo = base.Repo
	}
	if r.File == "" || r.File == "." {
		out.File = base.File
	}
	if r.Marker == NoMarker {
		out.Marker, out.Release = base.Marker, base.Release
	}
	if out.Type != "" && out.Marker == NoMarker {
		return Ref{}, errNoRelease(in, out.Type, out.Subpath)
	}
	if err := checkLength(in, out.String()); err != nil {
		return Ref{}, err
	}
	return out, nil
}

// checkLength applies the length limits of docs/refs.md §2 to the canonical
// string s; in is the text shown in the error.
func checkLength(in, s string) *Error {
	if len(s) > MaxLen {
		return errRefTooLong(in)
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '/' || s[i] == '#' {
			if i-start > MaxSegmentLen {
				return errSegmentTooLong(in)
			}
			start = i + 1
		}
	}
	return nil
}
