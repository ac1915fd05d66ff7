package rehearse

import "syscall"

// dieWithParent has the kernel kill the child if zdgen itself dies without
// cleaning up (SIGKILL, a crash): no pod outlives its rehearsal.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
