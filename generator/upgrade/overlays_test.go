package upgrade

import (
	"context"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
)

// The overlay choice of an upgrade, without the command: a release of an
// overlay the lock does not record, or a release and another overlay at
// once, are bad input; none drops the overlay; no choice keeps none.
func TestFindOverlaysChoices(t *testing.T) {
	lock := spec.Lock{Generator: "zdgen", Version: "0.8.0", Answers: spec.Defaults("shop")}
	for _, tc := range []struct {
		choice OverlayChoice
		want   string // "" for no error
	}{
		{OverlayChoice{}, ""},
		{OverlayChoice{Source: "none"}, ""},
		{OverlayChoice{Version: "v1.2.0"}, ".zdgen.yaml records no overlay; add one with --overlay"},
		{OverlayChoice{Source: "./platform", Version: "v1.2.0"}, "does not go together with --overlay"},
		{OverlayChoice{Source: "example.com/platform"}, "has no version"},
	} {
		ov, err := FindOverlays(context.Background(), t.TempDir(), lock, tc.choice)
		switch {
		case tc.want == "" && (err != nil || ov.Base != nil || ov.Next != nil):
			t.Errorf("%+v: %+v, %v; want no overlay on either side", tc.choice, ov, err)
		case tc.want != "" && (err == nil || !spec.IsInputError(err) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v; want bad input saying %q", tc.choice, err, tc.want)
		}
	}
}
