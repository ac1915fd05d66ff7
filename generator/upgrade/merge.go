package upgrade

import (
	"bytes"
	"sort"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
	"github.com/zdgen/zdgen/generator/spec"
)

// Merge3 merges, line by line, the changes from base to ours (the file on
// disk, as its owner edited it) and from base to theirs (what the new
// version generates). Changes to different lines are both kept; the same
// change made on both sides is kept once; different changes to the same or
// adjacent lines are a conflict, left between standard diff3-style markers:
//
//	<<<<<<< oursLabel
//	the owner's lines
//	||||||| baseLabel
//	the lines both started from
//	=======
//	the new version's lines
//	>>>>>>> theirsLabel
//
// It returns the merged text and the number of conflicts. Line diffs come
// from go-udiff (the diff of gopls); this is the diff3 walk over them.
//
// A file whose owner turned its line endings to CRLF is merged with base
// and theirs turned the same way, so the line endings are not a change.
func Merge3(base, ours, theirs []byte, oursLabel, baseLabel, theirsLabel string) ([]byte, int) {
	eol := "\n"
	if isCRLF(ours) {
		eol = "\r\n"
		base, theirs = toCRLF(base), toCRLF(theirs)
	}
	b, o, t := string(base), string(ours), string(theirs)
	oe, te := udiff.Lines(b, o), udiff.Lines(b, t)

	var out strings.Builder
	conflicts := 0
	pos := 0 // how much of base is in out
	i, j := 0, 0
	for i < len(oe) || j < len(te) {
		// The next hunk starts with the earlier edit and takes in every
		// edit of either side that overlaps or touches it.
		start, end := len(b), 0
		if i < len(oe) {
			start, end = oe[i].Start, oe[i].End
		}
		if j < len(te) && (i == len(oe) || te[j].Start < start) {
			start, end = te[j].Start, te[j].End
		}
		oi, tj := i, j
		for grew := true; grew; {
			grew = false
			for i < len(oe) && oe[i].Start <= end && oe[i].End >= start {
				end = max(end, oe[i].End)
				i, grew = i+1, true
			}
			for j < len(te) && te[j].Start <= end && te[j].End >= start {
				end = max(end, te[j].End)
				j, grew = j+1, true
			}
		}
		out.WriteString(b[pos:start])
		pos = end
		mine, new := apply(b, start, end, oe[oi:i]), apply(b, start, end, te[tj:j])
		switch {
		case oi == i: // only the new version changed these lines
			out.WriteString(new)
		case tj == j, mine == new: // only the owner did, or both alike
			out.WriteString(mine)
		default:
			conflicts++
			marker := func(m, label, text string) {
				out.WriteString(m)
				if label != "" {
					out.WriteString(" " + label)
				}
				out.WriteString(eol)
				out.WriteString(text)
				if text != "" && !strings.HasSuffix(text, "\n") {
					out.WriteString(eol)
				}
			}
			marker("<<<<<<<", oursLabel, mine)
			marker("|||||||", baseLabel, b[start:end])
			marker("=======", "", new)
			marker(">>>>>>>", theirsLabel, "")
		}
	}
	out.WriteString(b[pos:])
	return []byte(out.String()), conflicts
}

// apply returns base[start:end] with edits (all within it) applied.
func apply(base string, start, end int, edits []udiff.Edit) string {
	sort.SliceStable(edits, func(a, b int) bool { return edits[a].Start < edits[b].Start })
	var s strings.Builder
	at := start
	for _, e := range edits {
		s.WriteString(base[at:e.Start])
		s.WriteString(e.New)
		at = e.End
	}
	s.WriteString(base[at:end])
	return s.String()
}

// isCRLF reports whether most of b's line endings are CRLF.
func isCRLF(b []byte) bool {
	crlf := bytes.Count(b, []byte("\r\n"))
	return crlf > 0 && crlf*2 > bytes.Count(b, []byte("\n"))
}

func toCRLF(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

// HasConflictMarkers reports whether b holds a line that starts a conflict:
// zdgen never runs formatters or builds over such a file.
func HasConflictMarkers(b []byte) bool { return len(spec.ConflictMarkers(b)) > 0 }
