# The entry points of zdgen's repository, one line each; `make` lists them.
# Each target runs what is named, nothing more: see CONTRIBUTING.md.

.DEFAULT_GOAL := help
.PHONY: help test test-apiserver test-node bench bench-node bench-rehearse update-examples update-modules freeze ci

help: ## list these targets
	@awk -F':.*## ' '/^[a-z-]+:.*## /{printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

test: ## zdgen's tests: the README's test command (checks that need the real tools skip without them)
	go test -timeout 45m ./... && (cd test/schema && go test ./...)

test-apiserver: ## every generated manifest against a real kube-apiserver (needs etcd; builds it once)
	test/apiserver/run.sh

test-node: ## rollouts and drains under load on a real three-node cluster (root; about 20 minutes)
	test/cluster/run.sh

bench: ## generation, serving, shutdown and size benchmarks into BENCHMARKS.md (about 4 minutes)
	bench/run.sh

bench-node: ## the "Real cluster" section of BENCHMARKS.md (root; about 35 minutes)
	bench/node.sh

bench-rehearse: ## the "Rehearsal" section of BENCHMARKS.md (about 20 minutes; needs jq)
	bench/rehearse.sh

update-examples: ## regenerate examples/ from the current generator
	go test ./examples -update

update-modules: ## rewrite the generated go.mod and go.sum from templates/requires.txt with go mod tidy
	go test ./generator -run TestGoModulesTidy -update-modules

freeze: ## the first step of a template release: write templates/releases/VERSION.txtar
	go test ./templates -run Freeze -freeze

ci: ## everything CI runs: tools, tests, fuzzing, generated services, API server, cluster (root)
	.ci/run
