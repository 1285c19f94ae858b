//go:build tools

// Keeps the helm main package in this module's graph so `go mod tidy` keeps the require.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
