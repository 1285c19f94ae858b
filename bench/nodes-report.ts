// The nodes world's report (bench/nodes-world.ts), and its re-rendering from a kept JSON:
//   node bench/nodes-report.ts [bench/results]   (the folder holding nodes-world.json)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodesWorldResult } from './phases/nodes.ts';

export type NodesWorldReport = {
  date: string;
  command: string;
  commit: string;
  machine: string;
  options: object;
} & Partial<NodesWorldResult> & { errors: string[] };

function nonZero(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== 0));
}

export function renderWorld(r: NodesWorldReport): string {
  const w = r.world;
  const lines = [
    '# Nodes world (issue 15): churn, startup and a DaemonSet lapse',
    '',
    `${r.date}, \`${r.command}\`, commit ${r.commit}. ${r.machine}.`,
    '',
  ];
  if (w) {
    lines.push(
      `World: ${w.nodes} KWOK nodes, ${w.daemonSetPods} host-network DaemonSet pods, ${w.deploymentPods} Deployment ` +
        `pods (${w.podsRunning} Ready after ${w.createSeconds} s); every running pod's status updated every ` +
        `${w.heartbeatSeconds}-${(w.heartbeatSeconds * 1.2).toFixed(0)} s.`,
      '',
      '| figure | operator | floor | load average (1, 5, 15 min) |',
      '| --- | --- | --- | --- |',
    );
  }
  if (r.startup)
    lines.push(
      `| startup to converged | ${r.startup.operatorMs} ms | ${r.startup.floorMs} ms (LIST + one PATCH per host-network pod) | ${r.startup.loadAverage.join(', ')} |`,
    );
  const c = r.churn;
  if (c) {
    lines.push(
      `| CPU per 1,000 pod status updates (${c.statusUpdates} in ${c.seconds} s) | ${c.per1000.operatorCpuSeconds} s | ${c.per1000.floorCpuSeconds} s (a plain watch) | ${c.loadAverage.join(', ')} |`,
      `| API requests per 1,000 status updates | ${c.per1000.operatorRequests} (writes ${c.per1000.operatorWrites}; ` +
        `in the window ${JSON.stringify(nonZero(c.operator.requests))}: GET is /version every 10 s, the clock) | 0 | |`,
      `| reconciles in the window | ${c.operator.reconciles} | - | |`,
      `| operator's pod watch events in the window | ${JSON.stringify(c.operator.watchEvents)} | ${JSON.stringify(c.floor.events)} | |`,
    );
  }
  const l = r.lapse;
  if (l) {
    lines.push(
      `| lapse of one exception over a ${l.pods}-pod DaemonSet: expiresAt -> Expired Event | ${l.expiredEventMs ?? 'not seen'} ms | | ${l.loadAverage.join(', ')} |`,
      `| expiresAt -> every pod relabelled (${l.relabelled}) | ${l.allRelabelledMs ?? 'not reached'} ms | ${l.floorPatchMs} ms (${l.pods} PATCHes) | |`,
      `| operator writes during the lapse | ${JSON.stringify(nonZero(l.operatorWrites))} | ${l.pods} PATCH | |`,
      `| expiresAt -> the Event on the DaemonSet (HostNamespaceViolation) | ${l.workloadEventMs ?? 'not measured'} ms | | |`,
    );
  }
  if (r.errors.length) lines.push('', `Errors: ${r.errors.join('; ')}`);
  return `${lines.join('\n')}\n`;
}

if (import.meta.main) {
  const dir = process.argv[2] ?? 'bench/results';
  const report = JSON.parse(readFileSync(join(dir, 'nodes-world.json'), 'utf8')) as NodesWorldReport;
  writeFileSync(join(dir, 'nodes-world.md'), renderWorld(report));
  process.stderr.write(`wrote ${join(dir, 'nodes-world.md')}\n`);
}
