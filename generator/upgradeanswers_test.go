package generator_test

import (
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/generator/spec"
)

// An upgrade keeps every recorded answer it is not told to change, takes
// the ones set, and refuses a new name or protocol (a different service)
// and a replica count set while autoscale is on (recorded, not used).
func TestUpgradeAnswers(t *testing.T) {
	recorded := spec.Defaults("shop")
	recorded.Replicas = 5
	recorded.Description = "a shop"
	a, err := generator.UpgradeAnswers(recorded, map[string]string{"port": "9090"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Port != 9090 || a.Replicas != 5 || a.Description != "a shop" || a.Name != "shop" {
		t.Errorf("answers %+v: want port 9090 set, the rest as recorded", a)
	}
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"name": "other"}, "the name cannot change in an upgrade"},
		{map[string]string{"protocol": "grpc"}, "the protocol cannot change in an upgrade"},
		{map[string]string{"autoscale": "2-6", "replicas": "3"}, "not used with autoscale 2-6"},
	} {
		_, err := generator.UpgradeAnswers(recorded, tc.set, nil, nil)
		if err == nil || !spec.IsInputError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("set %v: got %v, want bad input saying %q", tc.set, err, tc.want)
		}
	}
	if _, err := generator.UpgradeAnswers(recorded, map[string]string{"autoscale": "off", "replicas": "3"}, nil, nil); err != nil {
		t.Errorf("replicas with autoscale off: %v", err)
	}
}
