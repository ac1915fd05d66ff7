package generator

import (
	"fmt"
	"strings"

	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/spec"
)

// ResolveAnswers completes the answers given for a new service as r says
// (asking, or taking defaults), with the organisation overlay ov (nil for
// none): its defaults come before zdgen's, the service's name put in
// where they name it, and an asked answer must pass its rules too.
func ResolveAnswers(given map[string]string, r spec.Resolving, ov *overlay.Applied) (spec.Answers, error) {
	if ov != nil {
		defaults := ov.Defaults()
		r.Preset = func(key string, so spec.Answers) (string, bool) {
			v, ok := defaults[key]
			return strings.ReplaceAll(v, overlay.NamePlaceholder, so.Name), ok
		}
		r.Check = ov.CheckAnswer
	}
	return spec.ResolveWith(given, r)
}

// UpgradeAnswers are a repository's recorded answers changed by set (key
// to value) and, when ask is not nil, asked again with the recorded ones
// as defaults, each asked answer held to the rules of the overlay the
// upgrade moves to (ov, nil for none). Every answer not set or asked
// keeps its recorded value, or its default where it no longer applies.
// The name and protocol are fixed: changing them makes a different
// service. A replica count set while autoscale is on is refused, as it
// would be recorded and not used.
func UpgradeAnswers(recorded spec.Answers, set map[string]string, ask spec.Prompter, ov *overlay.Applied) (spec.Answers, error) {
	given := map[string]string{"name": recorded.Name, "protocol": recorded.Protocol}
	for k, v := range set {
		if (k == "name" || k == "protocol") && v != given[k] {
			return spec.Answers{}, &spec.InputError{Field: k, Value: v, Rule: fmt.Sprintf("the %s cannot change in an upgrade: it makes a different service (generate it with zdgen new)", k)}
		}
		given[k] = v
	}
	r := spec.Resolving{Recorded: &recorded, Ask: ask, TakeDefaults: ask == nil}
	a, err := ResolveAnswers(given, r, ov)
	if err != nil {
		return a, err
	}
	if _, ok := set["replicas"]; ok {
		fix := "leave it out, or add --set autoscale=off"
		if ask != nil {
			fix = "leave it out, or answer autoscale off"
		}
		return a, spec.ReplicasUsed(a, fix)
	}
	return a, nil
}
