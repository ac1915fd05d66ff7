package generator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
)

// CheckName is the service name an overlay is checked under.
const CheckName = "overlay-check"

// CheckVariants are the answer sets an overlay is checked on, for each
// protocol, on top of its defaults: as generated, and with every optional
// part zdgen adds to the manifests and the code.
var CheckVariants = []map[string]string{
	{},
	{"autoscale": "2-4", "expose": "gateway", "service-monitor": "true", "tracing": "otlp", "prestop": "exec"},
	{"replicas": "1", "expose": "ingress", "metrics": "false"},
}

// OverlayCheck is what CheckOverlay found of an overlay that passes.
type OverlayCheck struct {
	Overlay *overlay.Applied
	Sets    []CheckedSet
}

// CheckedSet is one answer set an overlay was rendered on.
type CheckedSet struct {
	Label string // the protocol and what the variant sets: "grpc replicas=1"
	// Files counts the service's files; Own those only the overlay
	// makes, Replaced zdgen's files it replaces.
	Files, Own, Replaced int
	// Refused is the overlay's own rules refusing these answers (nil when
	// they accept them): each service must then give its own.
	Refused error
}

// CheckOverlay checks the overlay in dir as the services that use it will
// see it: read as zdgen new --overlay reads it, supporting this zdgen's
// templates, then composed on services of both protocols with its
// defaults, in every CheckVariants set, each built with kustomize and
// judged against the timing model as Compose does. Its rules are applied
// to each set and reported, not enforced: a rule that refuses its own
// defaults means each service must give that answer. The first set that
// fails is bad input naming the set.
func CheckOverlay(ctx context.Context, dir string) (*OverlayCheck, error) {
	o, err := overlay.Load(dir)
	if err != nil {
		return nil, err
	}
	if err := o.Supports(render.Version); err != nil {
		return nil, err
	}
	ov, err := overlay.Apply(o, "", dir)
	if err != nil {
		return nil, err
	}
	c := &OverlayCheck{Overlay: ov}
	for _, protocol := range []string{spec.ProtocolHTTP, spec.ProtocolGRPC} {
		for _, variant := range CheckVariants {
			given := overlay.WithName(o.Defaults(), CheckName)
			maps.Copy(given, variant)
			given["name"], given["protocol"] = CheckName, protocol
			set, err := checkSet(ctx, ov, given)
			set.Label = describeSet(protocol, variant)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				var be *builtError
				if errors.As(err, &be) {
					err = be.err // named below, with the set
				}
				return nil, spec.BadInput(fmt.Errorf("overlay %s%s, %s: %w", o.ID(), overlayFault(ov, err), set.Label, err))
			}
			c.Sets = append(c.Sets, set)
		}
	}
	return c, nil
}

// checkSet composes the service of one answer set with the overlay and
// counts what the overlay brings.
func checkSet(ctx context.Context, ov *overlay.Applied, given map[string]string) (CheckedSet, error) {
	var set CheckedSet
	a, err := spec.Resolve(given)
	if err != nil {
		return set, err
	}
	p, files, err := compose(ctx, Service{Answers: a, Overlay: ov}, false)
	if err != nil {
		return set, err
	}
	plain, err := render.Render(p)
	if err != nil {
		return set, err
	}
	zdgens := map[string][]byte{}
	for _, f := range plain {
		zdgens[f.Path] = f.Content
	}
	set.Files = len(files)
	for _, f := range files {
		content, ok := zdgens[f.Path]
		switch {
		case f.Path == spec.LockPath || f.Path == overlay.KustomizationPath:
		case !ok:
			set.Own++
		case string(content) != string(f.Content):
			set.Replaced++
		}
	}
	set.Refused = ov.Check(a)
	return set, nil
}

// describeSet names an answer set in the report: protocol, then the
// answers the variant sets, sorted.
func describeSet(protocol string, variant map[string]string) string {
	keys := make([]string, 0, len(variant))
	for k := range variant {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := []string{protocol}
	for _, k := range keys {
		parts = append(parts, k+"="+variant[k])
	}
	if len(variant) == 0 {
		parts = append(parts, "defaults")
	}
	return strings.Join(parts, " ")
}
