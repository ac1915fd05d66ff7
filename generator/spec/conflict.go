package spec

import "bytes"

// ConflictMarkers lists the lines of b (numbered from 1) that start a
// conflict: "<<<<<<<" alone or followed by a space and a label, as git
// and zdgen upgrade write them. A file with one is half merged: zdgen
// upgrade does not merge into it, and zdgen rehearse does not read it.
func ConflictMarkers(b []byte) []int {
	var lines []int
	for i, line := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("<<<<<<< ")) || bytes.Equal(bytes.TrimRight(line, "\r"), []byte("<<<<<<<")) {
			lines = append(lines, i+1)
		}
	}
	return lines
}
