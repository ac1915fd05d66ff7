//go:build tools

// Package apiserver pins the Kubernetes binaries that run.sh builds, so that
// go.mod and go.sum record them; it is never compiled.
package apiserver

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
