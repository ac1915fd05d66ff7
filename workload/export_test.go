package workload

// For the tests outside the package (generated_test.go, tree_test.go).
var ExpandEnv = expandEnv

// Commands are the exec commands w's loading judged.
func Commands(w *Workload) map[string]Command { return w.commands }
