package spec

import "testing"

// Validation never panics, whatever is typed into whichever field, and a
// value it accepts is accepted again as it was stored.
func FuzzFieldSet(f *testing.F) {
	for _, seed := range []string{"", "3", "1.35", "5s", "-1", "v1.2.3.4", "nginx:1", "a b", "\x00", "🙂", "9999999999999999999", "1e3s", "../x"} {
		f.Add(uint8(0), seed)
	}
	f.Fuzz(func(t *testing.T, field uint8, v string) {
		fd := Fields[int(field)%len(Fields)]
		a := Defaults("svc")
		if err := fd.Set(&a, v); err != nil {
			if !IsInputError(err) {
				t.Fatalf("%s=%q: %v is not an InputError", fd.Key, v, err)
			}
			return
		}
		b := a
		if err := fd.Set(&b, fd.Get(&a)); err != nil || b != a {
			t.Fatalf("%s=%q: stored as %q, which Set then rejects or changes (%v)", fd.Key, v, fd.Get(&a), err)
		}
		_ = Check(a) // must not panic either
	})
}
