package cluster

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNodeGuard checks that nothing the node's pods send, and nothing sent
// to a ClusterIP that kube-proxy does not translate, can leave the machine.
func TestNodeGuard(t *testing.T) {
	n := requireNode(t)
	checkGuard(t, n)
}

// checkGuard fails the test unless the traffic guard is in place: the pod
// and service ranges routed to a device that goes nowhere (the node's own
// pod subnet is on the pods' bridge, more specific), packets from the pod
// range or to the service range dropped on the uplink, and the pods'
// resolv.conf naming no server off the machine.
func checkGuard(t *testing.T, n *node) {
	t.Helper()
	for _, cidr := range []string{n.podCIDR, n.serviceCIDR} {
		prefix, err := netip.ParsePrefix(cidr)
		if err != nil {
			t.Fatalf("range %q: %v", cidr, err)
		}
		// The last address of the range: never on the node's pod subnet.
		last := prefix.Addr().As4()
		bits := 32 - prefix.Bits()
		for i := 3; i >= 0 && bits > 0; i-- {
			take := min(bits, 8)
			last[i] |= byte(1<<take - 1)
			bits -= take
		}
		addr := netip.AddrFrom4(last).String()
		out, err := exec.Command("ip", "-o", "route", "get", addr).CombinedOutput()
		if err != nil {
			t.Fatalf("ip route get %s: %v\n%s", addr, err, out)
		}
		if !strings.Contains(string(out), " dev "+n.guard+" ") {
			t.Errorf("%s (in %s) is not routed to the guard device %s: %s", addr, cidr, n.guard, out)
		}
	}
	for _, rule := range [][]string{
		{"-o", n.uplink, "-s", n.podCIDR, "-j", "DROP"},
		{"-o", n.uplink, "-d", n.serviceCIDR, "-j", "DROP"},
	} {
		args := append([]string{"-t", "mangle", "-C", "POSTROUTING"}, rule...)
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			t.Errorf("no guard rule iptables -t mangle -A POSTROUTING %s: %v %s", strings.Join(rule, " "), err, out)
		}
	}
	// The kubelet's resolvConf: pods copy it (there is no cluster DNS).
	state := os.Getenv("ZDGEN_NODE_STATE")
	b, err := os.ReadFile(state + "/kubelet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var resolv string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "resolvConf: "); ok {
			resolv = strings.TrimSpace(v)
		}
		if strings.HasPrefix(line, "clusterDNS") {
			t.Errorf("the kubelet names a cluster DNS server: %s", line)
		}
	}
	conf, err := os.ReadFile(resolv)
	if err != nil {
		t.Fatalf("the kubelet's resolvConf %q: %v", resolv, err)
	}
	for _, line := range strings.Split(string(conf), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err != nil || !a.IsLoopback() {
				t.Errorf("pods would ask the name server %s, off the machine", f[1])
			}
		}
	}
}
