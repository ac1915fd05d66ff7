package spec

import (
	"slices"
	"testing"
)

// ConflictMarkers finds the lines that open a conflict, labelled or not,
// in LF and CRLF files, and nothing else that looks like one.
func TestConflictMarkers(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []int
	}{
		{"a\n<<<<<<< yours\nb\n=======\nc\n>>>>>>> zdgen 0.8.0\n", []int{2}},
		{"<<<<<<<\r\nx\r\n=======\r\ny\r\n>>>>>>>\r\n", []int{1}},
		{"<<<<<<< a\n<<<<<<< b\n", []int{1, 2}},
		{"a <<<<<<< b\n<<<<<<<<\n <<<<<<< x\n=======\n", nil},
		{"", nil},
	} {
		if got := ConflictMarkers([]byte(tc.text)); !slices.Equal(got, tc.want) {
			t.Errorf("ConflictMarkers(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
