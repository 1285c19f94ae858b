#!/usr/bin/env bash
# Startup of several operator builds on one kept cluster, in turn, one trial each per round (each
# trial: the floor, then the build). For a quick A/B of a change before a full run; single trials on
# a shared machine are a measurement, not a verdict.
#   bash bench/compare-entries.sh <size> <rounds> <name>=<entry> [<name>=<entry> ...]
#   bash bench/compare-entries.sh 50000 2 base=dist/main.js h1=/work/wt/h1/dist/main.js
# A build outside this folder needs node_modules beside it (a symlink to this one's will do).
set -uo pipefail # a build that fails one trial does not stop the others
cd "$(dirname "$0")/.."
size=$1 rounds=$2
shift 2
cluster=$(mktemp -d -t hostns-compare-XXXXXX)
for ((r = 1; r <= rounds; r++)); do
  for spec in "$@"; do
    name=${spec%%=*} entry=${spec#*=}
    echo "== round $r: $name ($entry) $(date -u +%T)"
    npm run -s bench -- --phase startup --sizes "$size" --trials 1 --entry "$entry" --cluster-dir "$cluster" \
      --out "$cluster/out-$name-$r" 2>&1 | grep -E "floor:|operator: converged|ERROR" | sed -E 's/ \{.*\}//'
  done
done
rm -rf "$cluster"
