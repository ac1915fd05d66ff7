//go:build unix

package rehearse

import "syscall"

// openFileLimit is how many files this process may have open: the soft
// RLIMIT_NOFILE, raised to the hard limit first (Go's runtime does that
// at startup too; the rehearsal's Go children, pods and load client, do
// the same for themselves).
func openFileLimit() (uint64, bool) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, false
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim.Cur = lim.Max
		}
	}
	return uint64(lim.Cur), true
}
