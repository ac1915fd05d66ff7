package overlay

import (
	"bytes"
	"io"
	"maps"
	"slices"

	"golang.org/x/mod/sumdb/dirhash"
)

// Sum is the checksum of the overlay's content in Go's h1: format
// (dirhash.Hash1), computed as Go hashes a module zip: over every loaded
// file (version control directories left out, as a zip leaves them out),
// each named MODULE@VERSION/PATH, where MODULE is go.mod's module path and
// VERSION the overlay's version. For an overlay that is a module at that
// version, it equals the h1: hash `go mod download -json` reports (Sum)
// and go.sum records. Without a go.mod, MODULE is the overlay's name.
// Renaming, adding or changing any file changes it; where the tree lives
// does not.
func (o *Overlay) Sum() (string, error) {
	prefix := o.Module
	if prefix == "" {
		prefix = o.Name
	}
	prefix += "@" + o.Version + "/"
	names := make([]string, 0, len(o.files))
	for _, p := range slices.Sorted(maps.Keys(o.files)) {
		names = append(names, prefix+p)
	}
	return dirhash.Hash1(names, func(name string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(o.files[name[len(prefix):]])), nil
	})
}
