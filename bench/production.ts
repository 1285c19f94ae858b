// The operator in its production form, as config/manager runs it: the compiled dist/main.js, the
// container's NODE_OPTIONS and other environment, and its flags (minus the HTTP port, which the
// bench chooses). So every figure is of what ships, not of the type-stripped sources.
import { existsSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export const MANAGER_YAML = 'config/manager/manager.yaml';
export const PRODUCTION_ENTRY = 'dist/main.js';

export interface ProductionForm {
  entry: string;
  /** NODE_OPTIONS split into node flags. */
  nodeArgs: string[];
  /** Literal env values of the container other than NODE_OPTIONS (fieldRefs are left out). */
  env: Record<string, string>;
  /** Container args without --http-port. */
  args: string[];
  memoryRequest?: string;
  memoryLimit?: string;
}

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  resources?: { requests?: { memory?: string }; limits?: { memory?: string } };
}

/** Reads the manager container from a manager.yaml text (pure, for tests). */
export function productionFormOf(yamlText: string): ProductionForm {
  const deployment = parseAllDocuments(yamlText)
    .map((d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Container[] } } } })
    .find((d) => d?.kind === 'Deployment');
  const c = deployment?.spec?.template?.spec?.containers?.find((x) => x.name === 'manager');
  if (!c) throw new Error(`${MANAGER_YAML}: no Deployment with a container named manager`);
  const env: Record<string, string> = {};
  let nodeOptions = '';
  for (const e of c.env ?? []) {
    if (e.value === undefined) continue;
    if (e.name === 'NODE_OPTIONS') nodeOptions = e.value;
    else env[e.name] = e.value;
  }
  return {
    entry: PRODUCTION_ENTRY,
    nodeArgs: nodeOptions.split(/\s+/).filter(Boolean),
    env,
    args: (c.args ?? []).filter((a) => !a.startsWith('--http-port')),
    memoryRequest: c.resources?.requests?.memory,
    memoryLimit: c.resources?.limits?.memory,
  };
}

/** The production form; throws when dist/ is missing (run `npm run build` first). */
export function productionForm(): ProductionForm {
  if (!existsSync(PRODUCTION_ENTRY)) throw new Error(`${PRODUCTION_ENTRY} is missing: run \`npm run build\` first`);
  return productionFormOf(readFileSync(MANAGER_YAML, 'utf8'));
}
