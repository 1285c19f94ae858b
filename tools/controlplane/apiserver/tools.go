//go:build tools

// Keeps the kube-apiserver main package in this module's graph so `go mod tidy` keeps the require.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"

import _ "k8s.io/kubernetes/cmd/kube-controller-manager"
