package rehearse

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/internal/repotest"
)

// The shutdown rule holds for zdgen rehearse whatever --work-ms asks: a
// Deployment whose SHUTDOWN_TIMEOUT is below its WORK_MAX cuts off work
// the service accepts, even when the rehearsal's own requests are short.
func TestLoadForRefusesAShutdownBelowTheLongestRequest(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "orders"})
	repotest.Replace(t, filepath.Join(dir, "deploy", "k8s", "deployment.yaml"), "- name: SHUTDOWN_TIMEOUT\n              value: \"10s\"", "- name: SHUTDOWN_TIMEOUT\n              value: \"1s\"")
	for _, ms := range []int{10, 3000} {
		if _, _, err := LoadFor(dir, Options{WorkMS: ms}); !spec.IsInputError(err) || !strings.Contains(err.Error(), "SHUTDOWN_TIMEOUT 1s is below WORK_MAX 10s") {
			t.Errorf("--work-ms %d: LoadFor = %v, want the shutdown rule as an input error", ms, err)
		}
	}
}
