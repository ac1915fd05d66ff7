package rehearse

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// container is one run of the service's process.
type container struct {
	cmd     *exec.Cmd
	ports   map[int32]int // container port -> port on 127.0.0.1
	addr    string        // the service port, for the endpoints
	env     []string
	exited  chan struct{}
	code    int
	stop    context.CancelFunc // ends the probes
	started bool
	ready   bool
	killing bool // the kubelet is ending it: an exit is expected
	logTail []string
	logEnd  *io.PipeWriter
}

func (k *kubelet) newContainer(p *Pod) (*container, error) {
	c := &container{ports: map[int32]int{}, exited: make(chan struct{})}
	for _, cp := range k.w.Container.Ports {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		c.ports[cp.ContainerPort] = port
	}
	// The container's environment as the manifest writes it, resolved as
	// the kubelet does (the pod's name and namespace from the downward
	// API, $(VAR) references), with the ports moved to free ones on
	// 127.0.0.1 and the drain turned off for a naive run (also where the
	// manifest leaves it to the service's default).
	if k.naive {
		c.env = append(c.env, "DRAIN_DELAY=0s")
	}
	for _, e := range k.w.PodEnv(p.Name) {
		v := e.Value
		switch e.Name {
		case "PORT", "HEALTH_PORT":
			n, _ := strconv.Atoi(v) // checked by Load
			v = strconv.Itoa(c.ports[int32(n)])
			if e.Name == "PORT" {
				c.addr = "127.0.0.1:" + v
			}
		case "DRAIN_DELAY":
			if k.naive {
				continue // set above
			}
		}
		c.env = append(c.env, e.Name+"="+v)
	}
	// Go >= 1.25 sizes GOMAXPROCS from the container's CPU limit; do the
	// same here, so a pod uses what it would use in the cluster.
	if lim, ok := k.w.Container.Resources.Limits[corev1.ResourceCPU]; ok {
		c.env = append(c.env, fmt.Sprintf("GOMAXPROCS=%d", max(1, int(math.Ceil(lim.AsApproximateFloat64())))))
	}
	c.env = append(c.env, "POD_NAME="+p.Name, "POD_TEMPLATE_REVISION="+strconv.Itoa(p.Revision))
	c.cmd = exec.Command(k.binary)
	c.cmd.Env = c.env
	c.cmd.Dir = filepath.Dir(k.binary)
	ownGroup(c.cmd)
	// Through an io.Pipe rather than StdoutPipe: Wait then returns only
	// after the last line is copied, so "shutdown: complete" is never lost
	// to the race between the exit and the read.
	pr, pw := io.Pipe()
	c.cmd.Stdout, c.cmd.Stderr = pw, pw // one stream, in order
	c.cmd.WaitDelay = 2 * time.Second   // a leftover child holding the pipe cannot stall Wait
	c.logEnd = pw
	go p.readLog(c, pr)
	return c, nil
}

// readLog turns the service's JSON log lines about readiness and shutdown
// into timeline events, and keeps the last lines for an error message.
func (p *Pod) readLog(c *container, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		c.logTail = append(c.logTail, line)
		if len(c.logTail) > 8 {
			c.logTail = c.logTail[1:]
		}
		p.mu.Unlock()
		var l struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Took  string `json:"took"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		if strings.HasPrefix(l.Msg, "shutdown") || l.Level == "WARN" || l.Level == "ERROR" {
			d := l.Msg
			if l.Took != "" {
				d += " (" + l.Took + ")"
			}
			p.k.tl.add(p.Name, EvLog, d)
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
