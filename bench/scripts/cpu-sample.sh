#!/bin/bash
# Beside a bench run: samples CPU ticks (utime+stime, all threads) of kube-apiserver, etcd, the
# operator, floor-startup and the bench every 0.5 s into $1. Usage: bash bench/scripts/cpu-sample.sh out.txt &
out=$1
while true; do
  line="$(date +%s.%N)"
  for name in kube-apiserver etcd "dist/main.js --kubeconfig" "floor-startup" "bench/run.ts"; do
    p=$(pgrep -f -- "$name" | head -1)
    if [ -n "$p" ]; then line="$line $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0)"; else line="$line -"; fi
  done
  echo "$line" >> $out
  sleep 0.5
done
