// The optional cluster setting naming the namespaces where exceptions may exist: those carrying
// one label (shipped as `hostns.io/exceptions=allowed`, a label only the platform team may set).
// The exception admission policy config/exception-namespaces refuses exceptions elsewhere; the
// operator is the second line: an exception found elsewhere is Invalid, with the same message.

/** Exceptions may exist only in namespaces labelled `key=value`. */
export interface ExceptionNamespaces {
  key: string;
  value: string;
}

/** The label config/exception-namespaces ships (its policy, label guard and operator flag). */
export const EXCEPTION_NAMESPACE_LABEL = 'hostns.io/exceptions=allowed';

// Kubernetes' qualified name and label value grammar (apimachinery validation).
const NAME = '([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)';
const LABEL_KEY = new RegExp(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?${NAME}$`);
const LABEL_VALUE = new RegExp(`^${NAME}$`);

/**
 * `--exception-namespace-label`: `key=value`, or empty for off (exceptions may exist anywhere).
 * Throws an Error naming `flag` on anything else.
 */
export function parseExceptionNamespaces(text: string, flag: string): ExceptionNamespaces | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const eq = trimmed.indexOf('=');
  const key = eq < 0 ? trimmed : trimmed.slice(0, eq);
  const value = eq < 0 ? '' : trimmed.slice(eq + 1);
  const prefix = key.includes('/') ? key.slice(0, key.indexOf('/')) : '';
  if (eq < 0 || !LABEL_KEY.test(key) || prefix.length > 253 || !LABEL_VALUE.test(value))
    throw new Error(
      `${flag}: ${JSON.stringify(text)} is not a namespace label key=value (e.g. ${EXCEPTION_NAMESPACE_LABEL}), ` +
        'or empty to allow exceptions in every namespace',
    );
  return { key, value };
}

/** Where exceptions may go, as the refusal and the Invalid reason say it. */
export function whereExceptionsMayGo(setting: ExceptionNamespaces): string {
  return (
    `HostNamespaceExceptions may only exist in namespaces labelled ${setting.key}=${setting.value} ` +
    '(a label the platform team sets on the namespaces dedicated to host-namespace workloads)'
  );
}

/**
 * Why an exception in `namespace` cannot be honoured under `setting` (undefined: it can).
 * `labelValue` is the namespace's value of the setting's label key (undefined: no such label, or
 * the namespace is not known).
 */
export function exceptionNamespaceProblem(
  setting: ExceptionNamespaces | undefined,
  namespace: string,
  labelValue: string | undefined,
): string | undefined {
  if (!setting || labelValue === setting.value) return undefined;
  const has = labelValue === undefined ? `has no label ${setting.key}` : `has ${setting.key}=${labelValue}`;
  return `namespace ${namespace} ${has}: ${whereExceptionsMayGo(setting)}`;
}
