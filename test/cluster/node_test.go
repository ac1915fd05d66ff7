// Package cluster proves zero downtime on a real Kubernetes cluster of
// three nodes: services written by `zdgen new`, built into images from
// their own Dockerfiles, applied unchanged from deploy/k8s (only the image
// reference set), and rolled, drained and evicted by real kubelets and
// kube-proxies (iptables and nftables) under load.
//
// The tests need the cluster that test/cluster/run.sh brings up; without
// it (a plain `go test ./...`) they skip. run.sh fails if they skipped.
package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// node is the running cluster, from the environment run.sh sets. (Its
// name is older than the cluster's second and third node.)
type node struct {
	kubeconfig  string
	kubectl     string
	nodes       []clusterNode
	uplink      string // the machine's outward interface
	guard       string // the device that goes nowhere
	podCIDR     string
	serviceCIDR string
	nodeNet     string // the nodes' addresses
	client      *kubernetes.Clientset
}

// clusterNode is one of the cluster's nodes, as run.sh describes it.
type clusterNode struct {
	Name          string `json:"name"`
	IP            string `json:"ip"`
	Netns         string `json:"netns"` // empty: the machine's own network namespace
	ProxyMode     string `json:"proxyMode"`
	PodCIDR       string `json:"podCIDR"`
	Containerd    string `json:"containerd"` // its containerd's socket
	KubeletConfig string `json:"kubeletConfig"`
	Veth          string `json:"veth"` // the machine's end of its link; empty for the first node
}

// command runs a program in the node's network namespace (nsenter enters
// that one only, as run.sh starts the node's components).
func (cn clusterNode) command(name string, args ...string) *exec.Cmd {
	if cn.Netns == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("nsenter", append([]string{"--net=/run/netns/" + cn.Netns, name}, args...)...)
}

// byName returns the node called name.
func (n *node) byName(t *testing.T, name string) clusterNode {
	t.Helper()
	for _, cn := range n.nodes {
		if cn.Name == name {
			return cn
		}
	}
	t.Fatalf("no node %q in the cluster", name)
	return clusterNode{}
}

var (
	theNode *node
	zdgen   string // the zdgen binary built from this checkout
	workDir string // generated services, kept for the whole run
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	kubeconfig := os.Getenv("ZDGEN_NODE_KUBECONFIG")
	if kubeconfig == "" {
		return m.Run() // every test skips
	}
	n := &node{
		kubeconfig:  kubeconfig,
		kubectl:     os.Getenv("ZDGEN_NODE_KUBECTL"),
		uplink:      os.Getenv("ZDGEN_NODE_UPLINK"),
		guard:       os.Getenv("ZDGEN_NODE_GUARD"),
		podCIDR:     os.Getenv("ZDGEN_NODE_POD_CIDR"),
		serviceCIDR: os.Getenv("ZDGEN_NODE_SERVICE_CIDR"),
		nodeNet:     os.Getenv("ZDGEN_NODE_NET"),
	}
	b, err := os.ReadFile(os.Getenv("ZDGEN_NODE_NODES"))
	if err == nil {
		err = json.Unmarshal(b, &n.nodes)
	}
	if err != nil || len(n.nodes) == 0 {
		fmt.Fprintf(os.Stderr, "the nodes (ZDGEN_NODE_NODES): %v %s\n", err, b)
		return 1
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeconfig:", err)
		return 1
	}
	cfg.QPS, cfg.Burst = 50, 100
	if n.client, err = kubernetes.NewForConfig(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	if workDir, err = os.MkdirTemp("", "zdgen-node-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	zdgen = filepath.Join(workDir, "zdgen")
	build := exec.Command("go", "build", "-o", zdgen, "./cmd/zdgen")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building zdgen: %v\n%s", err, out)
		return 1
	}
	theNode = n
	code := m.Run()
	if err := writeResults(); err != nil {
		fmt.Fprintln(os.Stderr, "writing the results:", err)
		return 1
	}
	return code
}

func requireNode(t *testing.T) *node {
	t.Helper()
	if theNode == nil {
		t.Skip("no node: test/cluster/run.sh brings one up and runs these tests")
	}
	return theNode
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

// run runs a command and returns its combined output, failing the test on
// a non-zero exit.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// service is a generated service on disk, with its images on the node.
type service struct {
	name      string
	protocol  string
	dir       string
	image     string // the service image, as the node knows it
	loadImage string // the image of the Dockerfile's loadtest stage
	loadBin   string // the load client built for this machine
}

// generate writes a service with `zdgen new` (the answers given as flags)
// into the work directory and builds its images and load client. Trees
// whose build inputs are equal share their images.
func generate(t *testing.T, name, protocol string, flags ...string) *service {
	t.Helper()
	base := name + "-" + protocol + "-" + strings.Join(flags, "_")
	dir := filepath.Join(workDir, strings.NewReplacer("--", "", "=", "-", " ", "", "/", "_").Replace(base))
	if _, err := os.Stat(dir); err != nil {
		args := append([]string{"new", name, "--yes", "--protocol", protocol, "--output", dir}, flags...)
		run(t, workDir, zdgen, args...)
	}
	s := &service{name: name, protocol: protocol, dir: dir}
	s.image, s.loadImage = buildImages(t, dir, name)
	s.loadBin = filepath.Join(dir, "bin", "loadtest")
	if _, err := os.Stat(s.loadBin); err != nil {
		run(t, dir, "go", "build", "-o", s.loadBin, "./cmd/loadtest")
	}
	return s
}

var imageMu sync.Mutex // one buildah build at a time: 2 cores

// buildImages builds the service image (the Dockerfile's last stage) and the
// load client's image (its loadtest stage) with buildah from the tree's own
// Dockerfile, unchanged, and imports both into the node's containerd. The
// tag is a hash of the build inputs, so an unchanged tree is not rebuilt.
func buildImages(t *testing.T, dir, name string) (image, loadImage string) {
	t.Helper()
	imageMu.Lock()
	defer imageMu.Unlock()
	tag := treeHash(t, dir)
	image = "localhost/zdgen-node-test/" + name + ":" + tag
	loadImage = "localhost/zdgen-node-test/" + name + "-loadtest:" + tag
	for _, img := range []struct{ ref, target string }{{image, ""}, {loadImage, "loadtest"}} {
		if exec.Command("buildah", "inspect", "--type", "image", img.ref).Run() != nil {
			args := []string{"bud", "--pull=never", "--network", "host", "--layers", "--quiet", "-t", img.ref}
			if img.target != "" {
				args = append(args, "--target", img.target)
			}
			start := time.Now()
			run(t, dir, "buildah", append(args, ".")...)
			t.Logf("built %s from %s/Dockerfile in %.1fs", img.ref, filepath.Base(dir), time.Since(start).Seconds())
		}
		importImage(t, img.ref)
	}
	return image, loadImage
}

// importImage copies an image from buildah's storage into every node's
// containerd (the kubelets' image stores), as `docker save | ctr import`
// would: built once, imported into each.
func importImage(t *testing.T, ref string) {
	t.Helper()
	archive := filepath.Join(workDir, "image.tar")
	defer os.Remove(archive)
	pushed := false
	for _, cn := range theNode.nodes {
		ctr := []string{"--address", cn.Containerd, "-n", "k8s.io"}
		if exec.Command("ctr", append(ctr, "images", "check", "name=="+ref)...).Run() == nil {
			out, _ := exec.Command("ctr", append(ctr, "images", "ls", "-q", "name=="+ref)...).Output()
			if strings.TrimSpace(string(out)) == ref {
				continue
			}
		}
		if !pushed {
			run(t, "", "buildah", "push", "--quiet", ref, "oci-archive:"+archive+":"+ref)
			pushed = true
		}
		run(t, "", "ctr", append(ctr, "images", "import", "--base-name", strings.Split(ref, ":")[0], archive)...)
		out, _ := exec.Command("ctr", append(ctr, "images", "ls", "-q", "name=="+ref)...).Output()
		if strings.TrimSpace(string(out)) != ref {
			t.Fatalf("containerd on %s does not list %s after the import; it lists:\n%s", cn.Name, ref, out)
		}
	}
}

// treeHash hashes what the Dockerfile builds from: everything but the
// manifests and documents, so that trees differing only in their
// Kubernetes target share their images.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir() && (rel == "deploy" || rel == "bin" || rel == ".node"):
			return filepath.SkipDir
		case d.IsDir():
			return nil
		case strings.HasSuffix(rel, ".md") || rel == ".zdgen.yaml" || rel == "skaffold.yaml" || rel == "Makefile":
			return nil
		}
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// kubectl runs the node's kubectl.
func (n *node) kubectlRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(n.kubectl, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+n.kubeconfig)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// ctx gives a test a context that ends with the test.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return c
}

// readAll reads a stream to its end (a followed log ends with its container).
func readAll(r io.ReadCloser) []byte {
	defer r.Close()
	b, _ := io.ReadAll(r)
	return b
}
