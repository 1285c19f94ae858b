//go:build tools

// Package tools pins the KWOK command in this wrapper module, so `go mod tidy` keeps its require.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
