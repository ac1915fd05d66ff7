// Package generator turns a person's answers into a zero-downtime service.
// The work flows one way, each step in a package of its own:
//
//	answers ──► plan ──► render ──► write
//	(spec)      (spec)   (render)   (write)
//
// The packages:
//   - spec: the answers and the field table that checks them, the plan (the
//     timing model: every derived number with its rule), the lock. No I/O.
//   - render: plan → []spec.File, from the embedded templates. No I/O.
//   - write: the only code that changes a target tree, all or nothing.
//
// Beside the flow: upgrade (rebuild the recorded base, merge three-way,
// apply through write) and, outside this tree, rehearse, which reads only
// spec. Generate is the flow short of writing; cmd/zdgen parses flags,
// calls these packages and prints.
//
// The tests here check generated output as a whole: generated services
// that build and pass their own tests, manifests against a real API server,
// selectors, fuzzed answers.
package generator
