#!/usr/bin/env bash
# Copies the OpenReports Report CRD from its Go module (github.com/openreports/reports-api, through
# the Go module proxy, the one way to get it here) into config/openreports/.
# Usage: bash tools/openreports/sync.sh [version]      (default: the version kustomization.yaml names)
#        bash tools/openreports/sync.sh --check        (exit 1 when the committed copy differs)
set -euo pipefail
cd "$(dirname "$0")/../.."
check=false
version=v0.2.1
for a in "$@"; do case $a in --check) check=true ;; *) version=$a ;; esac; done
module=github.com/openreports/reports-api
dir=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "go mod download $module@$version failed" >&2; exit 2; }
src=$dir/config/crd/openreports.io_reports.yaml
dst=config/openreports/openreports.io_reports.yaml
if $check; then
  cmp -s "$src" "$dst" && echo "$dst matches $module@$version" && exit 0
  echo "$dst differs from $module@$version" >&2; exit 1
fi
install -m 644 "$src" "$dst"
echo "copied $module@$version config/crd/openreports.io_reports.yaml to $dst"
