//go:build tools

// Keeps the kube-apiserver, kube-controller-manager and kube-scheduler main packages in this
// module's graph so `go mod tidy` keeps the require.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"

import _ "k8s.io/kubernetes/cmd/kube-controller-manager"

import _ "k8s.io/kubernetes/cmd/kube-scheduler"
