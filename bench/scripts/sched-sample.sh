#!/bin/bash
# Beside a bench run: the operator main thread's /proc/<pid>/schedstat (ns on CPU, ns waiting in
# the run queue) every 0.5 s into $1: whether it waits for a CPU or for I/O. Per interval:
#   awk '{t=$1;c=$3;w=$4; if (NR>1) printf "%.2f cpu %.0f%% runq %.0f%%\n", t-t0, (c-pc)/1e7/(t-pt), (w-pw)/1e7/(t-pt); else t0=t; pt=t;pc=c;pw=w}' out.txt
out=$1
while true; do
  op=$(pgrep -f "dist/main.js --kubeconfig" | head -1)
  [ -n "$op" ] && echo "$(date +%s.%N) op $(cat /proc/$op/schedstat 2>/dev/null)" >> "$out"
  sleep 0.5
done
