package cluster

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNodeGuard checks on every node that nothing its pods send, and
// nothing sent to a ClusterIP that its kube-proxy does not translate, can
// leave the machine.
func TestNodeGuard(t *testing.T) {
	n := requireNode(t)
	checkGuard(t, n)
	if len(n.nodes) < 2 {
		t.Logf("one node: the guard of the nodes in network namespaces of their own is not exercised")
	}
}

// offMachine is an address off the machine (TEST-NET-1, never assigned):
// a node in a namespace of its own must have no route to it.
const offMachine = "192.0.2.1"

// checkGuard fails the test unless the traffic guard is in place on every
// node: the pod and service ranges routed to a device that goes nowhere
// (each node's own pod subnet is on its pods' bridge, more specific, and
// the other nodes' are routed to them), no route at all off the machine
// from a node in a namespace of its own, packets from the pod or node
// range or to the service range dropped on the machine's uplink, and the
// pods' resolv.conf naming no server off the machine.
func checkGuard(t *testing.T, n *node) {
	t.Helper()
	var lasts []string
	for _, cidr := range []string{n.podCIDR, n.serviceCIDR} {
		prefix, err := netip.ParsePrefix(cidr)
		if err != nil {
			t.Fatalf("range %q: %v", cidr, err)
		}
		// The last address of the range: never on a node's pod subnet.
		last := prefix.Addr().As4()
		bits := 32 - prefix.Bits()
		for i := 3; i >= 0 && bits > 0; i-- {
			take := min(bits, 8)
			last[i] |= byte(1<<take - 1)
			bits -= take
		}
		lasts = append(lasts, netip.AddrFrom4(last).String())
	}
	for _, cn := range n.nodes {
		for i, addr := range lasts {
			out, err := cn.command("ip", "-o", "route", "get", addr).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: ip route get %s: %v\n%s", cn.Name, addr, err, out)
			}
			if !strings.Contains(string(out), " dev "+n.guard+" ") {
				t.Errorf("%s: %s (in %s) is not routed to the guard device %s: %s", cn.Name, addr, []string{n.podCIDR, n.serviceCIDR}[i], n.guard, out)
			}
		}
		if cn.Netns != "" {
			out, err := cn.command("ip", "-o", "route", "get", offMachine).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "unreachable") {
				t.Errorf("%s has a route off the machine (ip route get %s: %v): %s", cn.Name, offMachine, err, out)
			}
		}
		checkResolvConf(t, cn)
	}
	for _, rule := range [][]string{
		{"-o", n.uplink, "-s", n.podCIDR, "-j", "DROP"},
		{"-o", n.uplink, "-s", n.nodeNet, "-j", "DROP"},
		{"-o", n.uplink, "-d", n.serviceCIDR, "-j", "DROP"},
	} {
		args := append([]string{"-t", "mangle", "-C", "POSTROUTING"}, rule...)
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			t.Errorf("no guard rule iptables -t mangle -A POSTROUTING %s: %v %s", strings.Join(rule, " "), err, out)
		}
	}
}

// checkResolvConf checks the node's kubelet: no cluster DNS server, and a
// resolvConf (which pods copy) naming only loopback servers.
func checkResolvConf(t *testing.T, cn clusterNode) {
	t.Helper()
	b, err := os.ReadFile(cn.KubeletConfig)
	if err != nil {
		t.Fatal(err)
	}
	var resolv string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "resolvConf: "); ok {
			resolv = strings.TrimSpace(v)
		}
		if strings.HasPrefix(line, "clusterDNS") {
			t.Errorf("%s: the kubelet names a cluster DNS server: %s", cn.Name, line)
		}
	}
	conf, err := os.ReadFile(resolv)
	if err != nil {
		t.Fatalf("%s: the kubelet's resolvConf %q: %v", cn.Name, resolv, err)
	}
	for _, line := range strings.Split(string(conf), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err != nil || !a.IsLoopback() {
				t.Errorf("%s: pods would ask the name server %s, off the machine", cn.Name, f[1])
			}
		}
	}
}
