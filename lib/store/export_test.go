package store

// RequiredLiteral exports requiredLiteral to the tests.
var RequiredLiteral = requiredLiteral

// WalkScopes lists the prefixes walkScopes walks.
func WalkScopes(globs []string) []string {
	var out []string
	for _, s := range walkScopes(globs) {
		out = append(out, s.prefix)
	}
	return out
}

// ReadLock takes a reader's shared lock of s.
func ReadLock(s *FS) (func(), error) { return s.readLock() }

// FailRename makes s fail every rename of a temp file over the store file
// path for which fail returns an error.
func FailRename(s *FS, fail func(path string) error) { s.failRename = fail }

// DropLog drops s's change log as a transaction applied without its line
// on a full disk does.
func DropLog(s *FS) { s.dropLog() }
