//go:build tools

// Keeps the promtool main package in this module's graph so `go mod tidy` keeps the require.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
