package rehearse

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// exec runs a command "in the container", as the image would run it:
// the service's binary is the built one, a command the base image ships is
// this machine's program of that name (a shell's -c script runs with the
// host's sh), and ports of the container in its arguments are moved as the
// process's were. A command the image lacks was refused by Load. Its
// process group is killed when ctx ends.
func (k *kubelet) exec(ctx context.Context, c *container, argv []string) error {
	ec, err := k.w.Command(argv)
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	program, env := k.binary, c.env
	if !ec.Service {
		// The host's program, found on the host's PATH.
		program, env = ec.Host, append(slices.Clip(c.env), "PATH="+os.Getenv("PATH"))
	}
	args := execArgs(program, argv, c.ports)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = env
	ownGroup(cmd)
	cmd.Cancel = func() error { killGroup(cmd); return nil }
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// execArgs maps a command written for the image to this machine: program
// runs in place of argv[0], and "HOST:PORT" arguments naming a container
// port name the port it was moved to.
func execArgs(program string, argv []string, ports map[int32]int) []string {
	args := append([]string{program}, argv[1:]...)
	for i := 1; i < len(args); i++ {
		for cp, hp := range ports {
			if j := strings.LastIndex(args[i], ":"); j >= 0 && args[i][j+1:] == strconv.Itoa(int(cp)) {
				args[i] = args[i][:j+1] + strconv.Itoa(hp)
			}
		}
	}
	return args
}
