// ReviewOverdue end to end, with a review interval of seconds: the operator raises it once per due
// date; recording a review with `kubectl hostns review --mark-reviewed` moves the due date, and the
// next lapse of the review raises a new one.
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { EventsV1Api } from '@kubernetes/client-node';
import { createNamespace, customObjects, eventually, kubeConfig, kubeconfigPath } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { createException } from '../harness/exceptions.ts';

let op: OperatorProcess | undefined;
afterAll(async () => {
  await op?.kill('SIGTERM');
});

const reviewEvents = async (ns: string) =>
  (await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns })).items.filter(
    (e) => e.reason === 'ReviewOverdue',
  );

describe('monthly review, in seconds', () => {
  it('ReviewOverdue once per due date; --mark-reviewed clears it and moves the due date', async () => {
    op = await OperatorProcess.start(['--review-interval', '4s']);
    const ns = await createNamespace('op-review');
    await createException(ns, 'exporter', {
      allow: ['hostPID'],
      podSelector: {},
      namespaceWide: true,
      riskAcceptance: { justification: 'exporter reads host process metrics', acceptedBy: 'security-board' },
      expiresAt: DateTime.utc().plus({ days: 20 }).toISO({ suppressMilliseconds: true }),
    });
    const first = await eventually(
      async () => {
        const ev = await reviewEvents(ns);
        return ev.length ? ev : undefined;
      },
      15_000,
      'first ReviewOverdue',
    );
    expect(first).toHaveLength(1);
    expect(first[0]!.note).toContain('never reviewed');
    await op.converged();
    const status = async () =>
      (
        (await customObjects().getNamespacedCustomObject({
          group: 'hostns.io',
          version: 'v1alpha1',
          namespace: ns,
          plural: 'hostnamespaceexceptions',
          name: 'exporter',
        })) as {
          status: { conditions: { type: string; status: string }[]; nextReviewAt: string };
        }
      ).status;
    expect((await status()).conditions.find((c) => c.type === 'ReviewOverdue')?.status).toBe('True');

    const cli = spawnSync(
      process.execPath,
      [
        'src/cli/kubectl-hostns.ts',
        'review',
        '--kubeconfig',
        kubeconfigPath(),
        '--mark-reviewed',
        'exporter',
        '-n',
        ns,
        '--by',
        'alice@example.com',
      ],
      { encoding: 'utf8' },
    );
    expect(cli.status, cli.stderr).toBe(0);
    await eventually(
      async () =>
        (await status()).conditions.find((c) => c.type === 'ReviewOverdue')?.status === 'False' ? true : undefined,
      10_000,
      'review current',
    );
    expect(await reviewEvents(ns)).toHaveLength(1);

    const second = await eventually(
      async () => {
        const ev = await reviewEvents(ns);
        return ev.length === 2 ? ev : undefined;
      },
      15_000,
      'second ReviewOverdue, 4 s after the review',
    );
    expect(second.map((e) => e.note).join('\n')).toContain('by alice@example.com');
  });
});
