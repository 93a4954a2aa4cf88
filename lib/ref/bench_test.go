package ref

import (
	"strings"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	inputs := []string{
		"github.com/ocuroot/example/-/frontend/release.ocu.star/@1/call/build#output/image",
		"example/-/frontend/release.ocu.star/@1/call/build/1/functions/1/status/pending",
		"+/custom/feature_flags/dark_mode",
		"./-/backend/release.ocu.star/@/deploy/staging#output/url",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(inputs[i%len(inputs)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseLong(b *testing.B) {
	s := "+/custom/" + strings.Repeat("aé/", 900)
	s = s[:len(s)-1]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	r, _ := Parse("github.com/ocuroot/example/-/frontend/release.ocu.star/@1/call/build#output/image")
	b.ReportAllocs()
	for b.Loop() {
		_ = r.String()
	}
}
