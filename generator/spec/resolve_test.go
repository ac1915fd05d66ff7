package spec

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// askAll answers every prompt with its default, or with a reply of its
// own, and counts what it was asked.
type askAll struct {
	replies map[string]string
	asked   []string
}

func (p *askAll) Ask(f Field, def string, check func(string) error) (string, error) {
	p.asked = append(p.asked, f.Key)
	v, ok := p.replies[f.Key]
	if !ok {
		v = def
	}
	return v, check(v)
}

// One resolver for new, upgrade and overlay check: what was given wins,
// then what is asked, then a recorded answer, then a preset (an
// overlay's default), then zdgen's default.
func TestResolveWithPrecedence(t *testing.T) {
	preset := func(key string, so Answers) (string, bool) {
		if key == "replicas" {
			return "4", true
		}
		return "", false
	}
	recorded := Defaults("shop")
	recorded.Replicas = 7
	for _, tc := range []struct {
		name  string
		given map[string]string
		r     Resolving
		want  int
	}{
		{"zdgen's default", map[string]string{"name": "shop"}, Resolving{TakeDefaults: true}, Defaults("shop").Replicas},
		{"a preset comes before zdgen's default", map[string]string{"name": "shop"}, Resolving{TakeDefaults: true, Preset: preset}, 4},
		{"a given answer wins over a preset", map[string]string{"name": "shop", "replicas": "5"}, Resolving{TakeDefaults: true, Preset: preset}, 5},
		{"a recorded answer wins over a preset", map[string]string{"name": "shop"}, Resolving{TakeDefaults: true, Preset: preset, Recorded: &recorded}, 7},
		{"an asked answer wins over the recorded one", map[string]string{"name": "shop"}, Resolving{Ask: &askAll{replies: map[string]string{"replicas": "6"}}, Recorded: &recorded}, 6},
		{"asked, the recorded answer is the default", map[string]string{"name": "shop"}, Resolving{Ask: &askAll{}, Recorded: &recorded}, 7},
		{"asked, the preset is the default", map[string]string{"name": "shop"}, Resolving{Ask: &askAll{}, Preset: preset}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ResolveWith(tc.given, tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if a.Replicas != tc.want {
				t.Errorf("replicas %d, want %d", a.Replicas, tc.want)
			}
		})
	}
}

// An upgrade's defaults are the recorded answers and zdgen's, never an
// overlay's preset: where a recorded answer no longer fits (a flush
// timeout of 0s as tracing turns on), zdgen's default is taken.
func TestResolveWithRecordedIgnoresPresets(t *testing.T) {
	recorded := Defaults("shop")
	preset := func(key string, so Answers) (string, bool) { return "7s", key == "trace-flush-timeout" }
	given := map[string]string{"name": "shop", "tracing": "otlp"}
	a, err := ResolveWith(given, Resolving{TakeDefaults: true, Recorded: &recorded, Preset: preset})
	if err != nil {
		t.Fatal(err)
	}
	want, err := ResolveWith(given, Resolving{TakeDefaults: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.TraceFlush != want.TraceFlush || a.TraceFlush.D() == 7*time.Second {
		t.Errorf("trace flush %s, want zdgen's default %s", a.TraceFlush.D(), want.TraceFlush.D())
	}
}

// Given answers are never asked; TakeDefaults never asks; without a way
// to ask and without TakeDefaults, every missing answer is reported at
// once, and the name is never defaulted.
func TestResolveWithAsksOnlyWhatIsMissing(t *testing.T) {
	p := &askAll{}
	if _, err := ResolveWith(map[string]string{"name": "shop", "port": "8081"}, Resolving{Ask: p}); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(p.asked, "name") || slices.Contains(p.asked, "port") || !slices.Contains(p.asked, "replicas") {
		t.Errorf("asked %v", p.asked)
	}
	p = &askAll{}
	if _, err := ResolveWith(map[string]string{"name": "shop"}, Resolving{Ask: p, TakeDefaults: true}); err != nil || len(p.asked) > 0 {
		t.Errorf("with TakeDefaults: asked %v (%v)", p.asked, err)
	}
	var me *MissingError
	_, err := ResolveWith(map[string]string{"port": "8081"}, Resolving{})
	if !errors.As(err, &me) || !slices.Contains(me.Keys, "name") || !slices.Contains(me.Keys, "replicas") || slices.Contains(me.Keys, "port") || !IsInputError(err) {
		t.Errorf("got %v, want every missing answer but the given port", err)
	}
	_, err = ResolveWith(map[string]string{"port": "8081"}, Resolving{TakeDefaults: true})
	if !errors.As(err, &me) || !slices.Equal(me.Keys, []string{"name"}) {
		t.Errorf("got %v, want the name missing", err)
	}
}

// An asked answer is held to the rules between fields and to Check (an
// overlay's rules) at once: the prompt sees the refusal.
func TestResolveWithChecksAskedAnswers(t *testing.T) {
	refuse := errors.New("the overlay wants 3")
	p := &askAll{replies: map[string]string{"replicas": "2"}}
	_, err := ResolveWith(map[string]string{"name": "shop"}, Resolving{Ask: p, Check: func(a Answers, key string) error {
		if key == "replicas" && a.Replicas != 3 {
			return refuse
		}
		return nil
	}})
	if !errors.Is(err, refuse) {
		t.Errorf("got %v, want the check's refusal", err)
	}
}
