//go:build !unix

package write

// mayWrite reports whether this process may create entries in dir; where
// that cannot be asked beforehand, the write itself will say.
func mayWrite(string) bool { return true }
