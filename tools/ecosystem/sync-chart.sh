#!/usr/bin/env bash
# Copies the chart's one source of truth into it: crds/*.yaml into charts/hostns-operator/crds/ and
# the config/ files its templates read into charts/hostns-operator/files/. Run it after changing
# crds/ or config/; test/chart/chart.test.ts fails while a copy differs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
chart="$root/charts/hostns-operator"
rm -rf "$chart/crds" "$chart/files"
mkdir -p "$chart/crds"
cp "$root"/crds/*.yaml "$chart/crds/"
# The config/ files the templates read (.Files.Get "files/<path>"); the Deployment, the Namespace and
# the kustomizations are not among them.
for file in \
  rbac/service_account.yaml \
  rbac/role.yaml \
  rbac/role_binding.yaml \
  rbac/leader_election_role.yaml \
  rbac/leader_election_role_binding.yaml \
  rbac/exception-roles.yaml \
  rbac/verify_role.yaml \
  manager/service.yaml \
  admission/policy.yaml \
  admission/binding.yaml \
  admission/required.yaml \
  admission/guard.yaml \
  admission/index.yaml \
  admission/operator-pod-writes.yaml \
  exception-policy/policy.yaml \
  exception-policy/binding.yaml \
  exception-namespaces/policy.yaml \
  exception-namespaces/label-guard.yaml \
  prometheus/monitor.yaml \
  prometheus/rules.yaml \
  openreports/rbac.yaml \
  ; do
  mkdir -p "$chart/files/$(dirname "$file")"
  cp "$root/config/$file" "$chart/files/$file"
done
