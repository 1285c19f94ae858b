// Rendering a scan result: compiler-style text (editors and CI problem matchers read it), JSON, SARIF 2.1.0.
import type { HostNamespace } from '../api/v1alpha1.ts';
import {
  exceptionsInChange,
  type ScanError,
  type ScanFinding,
  type ScanResult,
  type ScannedException,
} from './scan.ts';

/** `file:line:col`; line 0 is no line (an exception read from the cluster: `cluster:NAMESPACE`). */
function where(file: string, line?: number, column?: number): string {
  if (line === undefined || line <= 0) return file;
  return `${file}:${line}${column === undefined || column <= 0 ? '' : `:${column}`}`;
}

const HOST_NAMESPACE_NAMES: Record<HostNamespace, string> = {
  hostNetwork: 'network',
  hostPID: 'process ID',
  hostIPC: 'IPC',
};

function findingMessage(f: ScanFinding): string {
  if (f.setBy !== undefined) return `${f.name} shares the host ${HOST_NAMESPACE_NAMES[f.flag]} namespace (${f.setBy})`;
  const subject = `${f.kind} ${f.namespace}/${f.name} sets ${f.flag}: true`;
  if (f.status === 'covered') {
    const offline = f.notCheckableOffline?.length
      ? ` (${f.notCheckableOffline.join(', ')} not checkable offline: the operator checks it in the cluster)`
      : '';
    return `${subject}, allowed by HostNamespaceException ${f.exceptions.join(', ')}${offline}`;
  }
  if (f.status === 'exempt') return `${subject}, in exempt namespace ${f.namespace}`;
  const lapsed = f.lapsed.length ? ` (HostNamespaceException ${f.lapsed.join(', ')} has expired)` : '';
  return `${subject} and no HostNamespaceException in namespace ${f.namespace} allows it${lapsed}`;
}

/** The `exception-in-change` finding: the change brings the exception that would approve it. */
function inChangeMessage(x: ScannedException): string {
  return (
    `HostNamespaceException ${x.namespace}/${x.name} is part of the scanned change and does not count (exception-in-change): ` +
    'exceptions count from --exceptions PATH (a protected folder) or --exceptions-from cluster; --trust-inline-exceptions counts it'
  );
}

function errorLine(e: ScanError): string {
  return `${where(e.file, e.line, e.column)}: error: ${e.message}`;
}

export function scanSummary(r: ScanResult): string {
  const n = (s: ScanFinding['status']) => r.findings.filter((f) => f.status === s).length;
  const errorFiles = new Set(r.errors.map((e) => e.file)).size;
  const inChange = exceptionsInChange(r).length;
  const own = inChange ? `, ${inChange} exception${inChange === 1 ? '' : 's'} in the change` : '';
  const incomplete = r.errors.length
    ? `; ${r.errors.length} error${r.errors.length === 1 ? '' : 's'} in ${errorFiles} file${errorFiles === 1 ? '' : 's'}: result incomplete`
    : '';
  return `${r.files} input${r.files === 1 ? '' : 's'}, ${r.objects} object${r.objects === 1 ? '' : 's'}: ${n('offender')} uncovered, ${n('covered')} allowed by an exception, ${n('exempt')} exempt${own}${incomplete}`;
}

/** `file:line:col: error|note: ...`, one line per flag, then parse errors, ignored exceptions and a summary. */
export function renderScanText(r: ScanResult): string {
  const out: string[] = [];
  for (const f of r.findings)
    out.push(`${where(f.file, f.line, f.column)}: ${f.status === 'offender' ? 'error' : 'note'}: ${findingMessage(f)}`);
  for (const x of exceptionsInChange(r)) out.push(`${where(x.file, x.line, x.column)}: error: ${inChangeMessage(x)}`);
  for (const e of r.errors) out.push(errorLine(e));
  for (const x of r.exceptions) {
    if (x.counts || x.inChange) continue;
    const why = x.phase === 'Invalid' ? `invalid: ${x.problems.join('; ')}` : x.phase.toLowerCase();
    out.push(`${where(x.file, x.line)}: note: HostNamespaceException ${x.namespace}/${x.name} does not count (${why})`);
  }
  out.push(scanSummary(r));
  return out.join('\n') + '\n';
}

export function renderScanJson(r: ScanResult): string {
  return JSON.stringify({ summary: scanSummary(r), complete: r.errors.length === 0, ...r }, null, 2) + '\n';
}

const RULES: Record<HostNamespace, { id: string; name: string; text: string }> = {
  hostNetwork: {
    id: 'HOSTNS001',
    name: 'HostNetworkWithoutException',
    text: 'Pod shares the host network namespace (hostNetwork: true)',
  },
  hostPID: {
    id: 'HOSTNS002',
    name: 'HostPIDWithoutException',
    text: 'Pod shares the host process ID namespace (hostPID: true)',
  },
  hostIPC: {
    id: 'HOSTNS003',
    name: 'HostIPCWithoutException',
    text: 'Pod shares the host IPC namespace (hostIPC: true)',
  },
};

const RULE_ORDER: HostNamespace[] = ['hostNetwork', 'hostPID', 'hostIPC'];

/** Rules beyond the three flags: the change's own exceptions, and input that could not be read. */
const IN_CHANGE_RULE = {
  id: 'HOSTNS004',
  name: 'ExceptionInChange',
  text: 'The scanned change brings a HostNamespaceException of its own',
  help: 'Exceptions count only from a trusted source: --exceptions PATH (a protected folder) or --exceptions-from cluster. Move the exception there through its own review, or pass --trust-inline-exceptions.',
};
const INPUT_ERROR_RULE = {
  id: 'HOSTNS005',
  name: 'InputNotScanned',
  text: 'Input that could not be scanned (YAML syntax, alias budget, a value the API server refuses, an unreadable path)',
  help: 'Fix the input at the location given; the result is incomplete until then.',
};
const EXTRA_RULES = [IN_CHANGE_RULE, INPUT_ERROR_RULE];

function region(line?: number, column?: number): object {
  return line !== undefined && line > 0
    ? { region: { startLine: line, ...(column !== undefined && column > 0 ? { startColumn: column } : {}) } }
    : {};
}

/** A relative path as a SARIF URI reference (forward slashes, percent-encoded). */
function uriOf(file: string): string {
  if (file === '<stdin>') return 'stdin';
  return file
    .replace(/\\/g, '/')
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/**
 * SARIF 2.1.0 for code-scanning tools. Uncovered flags are `error` results; those an exception
 * allows (or an exempt namespace) are results with a suppression, so tools show them as dismissed
 * with the reason. Parse errors become tool execution notifications and `executionSuccessful: false`.
 */
export function renderSarif(r: ScanResult, toolVersion: string): string {
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'kubectl-hostns',
            version: toolVersion,
            informationUri: 'https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline',
            rules: RULE_ORDER.map((flag) => ({
              id: RULES[flag].id,
              name: RULES[flag].name,
              shortDescription: { text: RULES[flag].text },
              fullDescription: {
                text: `${RULES[flag].text} with no HostNamespaceException allowing it. Host namespaces weaken pod isolation; Pod Security Standards (baseline) forbid them.`,
              },
              help: {
                text: `Remove ${flag}: true, or request a time-boxed HostNamespaceException (hostns.io/v1alpha1) that allows ${flag} for the pod's labels in its namespace.`,
              },
              defaultConfiguration: { level: 'error' },
              properties: { tags: ['security', 'kubernetes'] },
            })).concat(
              EXTRA_RULES.map((rule) => ({
                id: rule.id,
                name: rule.name,
                shortDescription: { text: rule.text },
                fullDescription: { text: rule.text },
                help: { text: rule.help },
                defaultConfiguration: { level: 'error' },
                properties: { tags: ['security', 'kubernetes'] },
              })),
            ),
          },
        },
        invocations: [
          {
            executionSuccessful: r.errors.length === 0,
            toolExecutionNotifications: r.errors.map((e) => ({
              level: 'error',
              message: { text: e.message },
              locations: [
                {
                  physicalLocation: {
                    artifactLocation: { uri: uriOf(e.file) },
                    ...region(e.line, e.column),
                  },
                },
              ],
            })),
          },
        ],
        results: r.findings
          .map(
            (f) =>
              ({
                ruleId: RULES[f.flag].id,
                ruleIndex: RULE_ORDER.indexOf(f.flag),
                level: 'error',
                message: { text: findingMessage(f) },
                locations: [
                  {
                    physicalLocation: {
                      artifactLocation: { uri: uriOf(f.file) },
                      region: { startLine: f.line, startColumn: f.column },
                    },
                    logicalLocations: [
                      {
                        name: f.name,
                        fullyQualifiedName:
                          f.setBy === undefined ? `${f.namespace}/${f.kind}/${f.name}` : `${f.kind}/${f.name}`,
                        kind: 'object',
                      },
                    ],
                  },
                ],
                ...(f.status === 'offender'
                  ? {}
                  : {
                      suppressions: [
                        {
                          kind: 'external',
                          justification:
                            f.status === 'covered'
                              ? `HostNamespaceException ${f.exceptions.join(', ')}`
                              : `exempt namespace ${f.namespace}`,
                        },
                      ],
                    }),
                properties: { namespace: f.namespace, kind: f.kind, field: f.field, status: f.status },
              }) as object, // widens the element type for concat()
          )
          .concat(
            exceptionsInChange(r).map((x) => ({
              ruleId: IN_CHANGE_RULE.id,
              ruleIndex: RULE_ORDER.length,
              level: 'error',
              message: { text: inChangeMessage(x) },
              locations: [
                { physicalLocation: { artifactLocation: { uri: uriOf(x.file) }, ...region(x.line, x.column) } },
              ],
              properties: { namespace: x.namespace, name: x.name },
            })),
            // also as results: code-scanning views show results, not notifications
            r.errors.map((e) => ({
              ruleId: INPUT_ERROR_RULE.id,
              ruleIndex: RULE_ORDER.length + 1,
              level: 'error',
              message: { text: e.message },
              locations: [
                { physicalLocation: { artifactLocation: { uri: uriOf(e.file) }, ...region(e.line, e.column) } },
              ],
            })),
          ),
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}
