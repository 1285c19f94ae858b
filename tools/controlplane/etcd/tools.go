//go:build tools

// Keeps the etcd server main package in this module's graph so `go mod tidy` keeps the require.
package tools

import _ "go.etcd.io/etcd/server/v3"
