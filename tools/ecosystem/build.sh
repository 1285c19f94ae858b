#!/usr/bin/env bash
# Builds (once) the pinned helm and promtool from their Go modules into a cache outside the repo,
# keyed by version, and prints the path of each binary, one a line, in the order asked.
#
#   tools/ecosystem/build.sh                   build both if missing, print both paths (helm, promtool)
#   tools/ecosystem/build.sh helm              only helm
#   tools/ecosystem/build.sh promtool          only promtool
#
# Cache: ${HOSTNS_CACHE_DIR:-~/.cache/hostns-operator}/tools/<tool>-<version>/<tool>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${HOSTNS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hostns-operator}
tools=("$@"); [[ ${#tools[@]} -gt 0 ]] || tools=(helm promtool)

version_of() {
  case "$1" in
    helm) echo "$HELM_VERSION" ;;
    promtool) echo "$PROMETHEUS_VERSION" ;;
    *) echo "unknown tool '$1': expected helm or promtool" >&2; exit 2 ;;
  esac
}

build() {
  local tool=$1 version=$2 dir=$3
  export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
  local pkg ldflags
  case "$tool" in
    helm)
      pkg=helm.sh/helm/v4/cmd/helm
      local v=helm.sh/helm/v4/internal/version
      ldflags="-s -w -X $v.version=$version -X $v.gitTreeState=clean" ;;
    promtool)
      # Prometheus tags its Go module v0.3XX.Y for release 3.XX.Y.
      local release="3.${version#v0.3}"; release=${release/#3.0/3.}
      pkg=github.com/prometheus/prometheus/cmd/promtool
      local v=github.com/prometheus/common/version
      ldflags="-s -w -X $v.Version=$release -X $v.Branch=$version" ;;
  esac
  rm -rf "$dir.partial"; mkdir -p "$dir.partial"
  local start; start=$(date +%s)
  echo "building $tool $version into $dir (first run only; minutes)" >&2
  (cd "$here/$tool" && go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$dir.partial/$tool" "$pkg")
  rm -rf "$dir" && mv "$dir.partial" "$dir"
  echo "built $tool in $(( $(date +%s) - start )) s" >&2
}

for tool in "${tools[@]}"; do
  version=$(version_of "$tool")
  dir="$cache_root/tools/$tool-$version"
  if [[ ! -x "$dir/$tool" ]]; then
    if ! command -v go >/dev/null 2>&1; then
      cat >&2 <<MSG
hostns-operator needs $tool $version for its chart and alert tests.
Install Go >= 1.26: it is then built from its Go module, once, into $dir.
MSG
      exit 1
    fi
    mkdir -p "$cache_root/tools"
    # One build at a time per tool (test files run in parallel and call this script): the others
    # wait for the lock and find the binary built.
    exec {lock}>"$dir.lock"
    flock "$lock"
    [[ -x "$dir/$tool" ]] || build "$tool" "$version" "$dir"
    exec {lock}>&-
  fi
  echo "$dir/$tool"
done
