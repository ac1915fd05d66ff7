package upgrade

import (
	"strings"
	"testing"
)

func TestMerge3(t *testing.T) {
	base := "a\nb\nc\nd\ne\nf\n"
	for _, tc := range []struct {
		name, ours, theirs, want string
		conflicts                int
	}{
		{"only theirs changed", base, "a\nB\nc\nd\ne\nf\n", "a\nB\nc\nd\ne\nf\n", 0},
		{"only ours changed", "a\nb\nc\nd\nE\nf\n", base, "a\nb\nc\nd\nE\nf\n", 0},
		{"different lines", "a\nb\nc\nd\nE\nf\n", "a\nB\nc\nd\ne\nf\n", "a\nB\nc\nd\nE\nf\n", 0},
		{"the same change on both sides", "a\nB\nc\nd\ne\nf\n", "a\nB\nc\nd\ne\nf\n", "a\nB\nc\nd\ne\nf\n", 0},
		{"ours inserts, theirs deletes elsewhere", "a\nb\nnew\nc\nd\ne\nf\n", "a\nb\nc\nd\nf\n", "a\nb\nnew\nc\nd\nf\n", 0},
		{"both append at the end, differently", base + "x\n", base + "y\n",
			base + "<<<<<<< yours\nx\n||||||| base\n=======\ny\n>>>>>>> new\n", 1},
		{"the same line, differently", "a\nb\nOURS\nd\ne\nf\n", "a\nb\nTHEIRS\nd\ne\nf\n",
			"a\nb\n<<<<<<< yours\nOURS\n||||||| base\nc\n=======\nTHEIRS\n>>>>>>> new\nd\ne\nf\n", 1},
		// Adjacent lines with nothing unchanged between them cannot be told
		// apart from one change, as in git.
		{"adjacent lines", "a\nb\nC\nd\ne\nf\n", "a\nb\nc\nD\ne\nf\n",
			"a\nb\n<<<<<<< yours\nC\nd\n||||||| base\nc\nd\n=======\nc\nD\n>>>>>>> new\ne\nf\n", 1},
		{"two conflicts and a clean change", "X\nb\nc\nd\ne\nY\n", "1\nb\nC\nd\ne\n2\n",
			"<<<<<<< yours\nX\n||||||| base\na\n=======\n1\n>>>>>>> new\nb\nC\nd\ne\n<<<<<<< yours\nY\n||||||| base\nf\n=======\n2\n>>>>>>> new\n", 2},
		{"ours without the final newline", "a\nb\nc\nd\ne\nf", "A\nb\nc\nd\ne\nf\n", "A\nb\nc\nd\ne\nf", 0},
		{"ours in CRLF, theirs changed a line", "a\r\nb\r\nc\r\nd\r\nE\r\nf\r\n", "a\nB\nc\nd\ne\nf\n",
			"a\r\nB\r\nc\r\nd\r\nE\r\nf\r\n", 0},
		{"ours in CRLF, a conflict", "a\r\nX\r\nc\r\nd\r\ne\r\nf\r\n", "a\nY\nc\nd\ne\nf\n",
			"a\r\n<<<<<<< yours\r\nX\r\n||||||| base\r\nb\r\n=======\r\nY\r\n>>>>>>> new\r\nc\r\nd\r\ne\r\nf\r\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n := Merge3([]byte(base), []byte(tc.ours), []byte(tc.theirs), "yours", "base", "new")
			if string(got) != tc.want || n != tc.conflicts {
				t.Errorf("got %d conflicts:\n%s\nwant %d:\n%s", n, got, tc.conflicts, tc.want)
			}
			if HasConflictMarkers(got) != (tc.conflicts > 0) {
				t.Errorf("HasConflictMarkers = %v with %d conflicts", !(tc.conflicts > 0), tc.conflicts)
			}
		})
	}
}

// Merging is symmetric in what it keeps: swapping ours and theirs keeps
// the same lines, only the sides of a conflict swap.
func TestMerge3Symmetric(t *testing.T) {
	base := strings.Repeat("line\n", 20)
	ours := strings.Replace(base, "line\n", "mine\n", 1)
	theirs := base + "tail\n"
	a, n1 := Merge3([]byte(base), []byte(ours), []byte(theirs), "", "", "")
	b, n2 := Merge3([]byte(base), []byte(theirs), []byte(ours), "", "", "")
	if string(a) != string(b) || n1 != 0 || n2 != 0 {
		t.Errorf("merges differ:\n%s\n---\n%s", a, b)
	}
}
