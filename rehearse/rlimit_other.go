//go:build !unix

package rehearse

// openFileLimit: unknown here (a rehearsal needs Unix anyway).
func openFileLimit() (uint64, bool) { return 0, false }
