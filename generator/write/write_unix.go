//go:build unix

package write

import "syscall"

// mayWrite reports whether this process may create entries in dir, so that
// a refusal does not suggest --force where --force could not help.
func mayWrite(dir string) bool {
	const wOK = 0x2 // W_OK in <unistd.h>
	return syscall.Access(dir, wOK) == nil
}
