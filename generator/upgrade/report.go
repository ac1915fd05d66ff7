package upgrade

import (
	"cmp"
	"fmt"
	"io"
	"strconv"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/zdgen/zdgen/generator/spec"
)

// WriteFollowed says which answers changed without a --set because they
// were at their default and the default moved with the answers set (the
// propagation lag with expose), and how to keep the old value: a changed
// timing should not pass unseen.
func WriteFollowed(w io.Writer, given map[string]string, was, is spec.Answers) {
	for _, f := range spec.Fields {
		from, to := f.Get(&was), f.Get(&is)
		if _, set := given[f.Key]; !f.FollowsDefault || set || from == to {
			continue
		}
		fmt.Fprintf(w, "zdgen: %s: %s -> %s: it was the default, and the default moved with the answers set (--set %s=%s keeps it)\n", f.Key, from, to, f.Key, from)
	}
}

// WriteSummary writes what the upgrade does (verb: "Upgraded", "Would
// upgrade"), one line for each file it changes or warns of, with what the
// owner may need to do.
func (u *Upgrade) WriteSummary(w io.Writer, verb string) {
	counts := map[Outcome]int{}
	var lines []string
	for _, c := range u.Changes {
		counts[c.Outcome]++
		switch c.Outcome {
		case Unchanged, Yours:
			continue
		case ImportsMoved:
			lines = append(lines, fmt.Sprintf("  %-22s %s  (imports of %s moved to %s; nothing else changed)", c.Outcome, c.Path, u.ModuleFrom, u.ModuleTo))
		case KeptObsolete:
			note := "delete it if unused"
			if strings.HasPrefix(c.Path, ".github/workflows/") {
				// A workflow is never unused: GitHub runs every file there.
				note = "GitHub Actions still runs it: delete it to stop that, or keep it as your own workflow"
			}
			if len(c.Unlisted) > 0 {
				uses := "uses"
				if len(c.Unlisted) > 1 {
					uses = "use"
				}
				note = fmt.Sprintf("zdgen took it out of %s, which no longer %s it: delete it if unused, or list it there again", andList(c.Unlisted), uses)
			}
			lines = append(lines, fmt.Sprintf("  %-22s %s  (warning: zdgen %s no longer generates it and you changed it, so it stays; %s)", c.Outcome, c.Path, u.To, note))
		case YoursBehind:
			with := ""
			if len(u.AnswersTo) > 0 {
				with = " with " + strings.Join(u.AnswersTo, ", ")
			}
			lines = append(lines, fmt.Sprintf("  %-22s %s  (owner: user, so not touched; zdgen %s%s generates it differently from what it did before: bring the change over by hand if you want it)", c.Outcome, c.Path, u.To, with))
		case Skipped:
			why := "a symbolic link or not a regular file; zdgen neither reads nor writes through it"
			if at := c.SkippedAt; at != nil && at.At != c.Path {
				why = fmt.Sprintf("%s is %s; zdgen neither reads nor writes the files below it", at.At, at.What)
			} else if at != nil {
				why = fmt.Sprintf("%s; zdgen neither reads nor writes through it", at.What)
			}
			lines = append(lines, fmt.Sprintf("  %-22s %s  (warning: %s: compare it with zdgen %s's version by hand)", c.Outcome, c.Path, why, u.To))
		case Conflict, AddConflict:
			note := ""
			if c.Generated {
				note = "; generated code: resolve the .proto, then run make proto"
			}
			lines = append(lines, fmt.Sprintf("  %-22s %s  (%d conflicting hunk(s)%s)", c.Outcome, c.Path, c.Conflicts, note))
		default:
			lines = append(lines, fmt.Sprintf("  %-22s %s", c.Outcome, c.Path))
		}
	}
	lockNote := ""
	if u.LockChanged() {
		lockNote = ", and " + spec.LockPath
	}
	overlayNote := ""
	if u.OverlayFrom != u.OverlayTo {
		overlayNote = fmt.Sprintf(" (overlay %s -> %s)", cmp.Or(u.OverlayFrom, "none"), cmp.Or(u.OverlayTo, "none"))
	}
	what := fmt.Sprintf(" from zdgen %s to %s", u.From, u.To)
	if u.From == u.To {
		// The same templates: what changes is the answers, or the overlay.
		what = " with zdgen " + u.To
		if len(u.AnswersTo) > 0 {
			what = fmt.Sprintf(" the answers (%s) with zdgen %s", answerChanges(u), u.To)
		}
	}
	fmt.Fprintf(w, "%s%s%s: %d file(s)%s:\n", verb, what, overlayNote, len(lines), lockNote)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// answerChanges writes the answers an upgrade changes as "replicas 3 -> 5,
// description \"\" -> \"a shop\"": a value is quoted when it is empty or
// holds a space or a comma.
func answerChanges(u *Upgrade) string {
	quote := func(v string) string {
		if v == "" || strings.ContainsAny(v, " ,") {
			return strconv.Quote(v)
		}
		return v
	}
	parts := make([]string, len(u.AnswersTo))
	for i := range u.AnswersTo {
		key, was, _ := strings.Cut(u.AnswersFrom[i], "=")
		_, is, _ := strings.Cut(u.AnswersTo[i], "=")
		parts[i] = fmt.Sprintf("%s %s -> %s", key, quote(was), quote(is))
	}
	return strings.Join(parts, ", ")
}

// andList joins "a", "b" and "c" as "a, b and c".
func andList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// WriteDiff writes the upgrade as a unified diff, as git would show it.
func (u *Upgrade) WriteDiff(w io.Writer) error {
	for _, c := range u.Changes {
		if c.Writes() {
			if err := diffOne(w, c.Path, c.Old, c.OldExists, c.New, c.NewExists); err != nil {
				return err
			}
		}
	}
	if u.LockChanged() {
		return diffOne(w, spec.LockPath, u.LockOld, true, u.Lock.Content, true)
	}
	return nil
}

func diffOne(w io.Writer, path string, old []byte, oldOK bool, new []byte, newOK bool) error {
	from, to := "a/"+path, "b/"+path
	if !oldOK {
		from = "/dev/null"
	}
	if !newOK {
		to = "/dev/null"
	}
	d := udiff.Unified(from, to, string(old), string(new))
	_, err := fmt.Fprintf(w, "diff --zdgen a/%s b/%s\n%s", path, path, d)
	return err
}
