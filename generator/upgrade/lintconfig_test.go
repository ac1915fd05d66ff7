package upgrade

import (
	"bytes"
	"testing"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/internal/repotest"

	"github.com/zdgen/zdgen/generator/spec"
)

// A repository from 0.5.0, the release before the lint configuration,
// gets .golangci.yml on upgrade and a Makefile whose lint target runs it;
// an owner's own .golangci.yml is kept in a conflict with an empty base,
// never overwritten.
func TestUpgradeFrom050AddsGolangciConfig(t *testing.T) {
	for _, protocol := range []string{"http", "grpc"} {
		a := spec.Defaults("shop")
		a.Protocol = protocol
		repo := repotest.Map(repotest.Compose(t, generator.Service{Version: "0.5.0", Answers: a}))
		if _, ok := repo[".golangci.yml"]; ok {
			t.Fatalf("%s: 0.5.0 already generated .golangci.yml", protocol)
		}
		l, err := spec.ParseLock(repo[spec.LockPath])
		if err != nil {
			t.Fatal(err)
		}

		u, err := PlanUpgrade(l, repo[spec.LockPath], a, mapDisk(repo))
		if err != nil {
			t.Fatal(err)
		}
		got := outcomes(u)
		if c := got[".golangci.yml"]; c.Outcome != Added || !bytes.Contains(c.New, []byte("\n        - "+a.Module+"\n")) {
			t.Errorf("%s: .golangci.yml %s, want added with the module as goimports' local prefix:\n%s", protocol, c.Outcome, c.New)
		}
		if c := got["Makefile"]; c.Outcome != Updated || !bytes.Contains(c.New, []byte("\tgolangci-lint run ./...\n")) {
			t.Errorf("%s: Makefile %s, want updated to run golangci-lint", protocol, c.Outcome)
		}

		repo[".golangci.yml"] = []byte("version: \"2\"\n# ours\n")
		u, err = PlanUpgrade(l, repo[spec.LockPath], a, mapDisk(repo))
		if err != nil {
			t.Fatal(err)
		}
		if c := outcomes(u)[".golangci.yml"]; c.Outcome != AddConflict || !bytes.HasPrefix(c.New, []byte("<<<<<<< yours\nversion: \"2\"\n# ours\n||||||| (none)\n")) {
			t.Errorf("%s: an owner's .golangci.yml: %s, want a conflict keeping theirs:\n%s", protocol, c.Outcome, c.New)
		}
	}
}
