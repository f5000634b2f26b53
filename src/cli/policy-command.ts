import { Command, Option } from 'commander';
import { environmentOption } from '../config/values';
import { ConfigError } from '../errors/config-error';
import type { Caller } from '../identity/caller';
import {
  type CompiledPolicy,
  checkPolicy,
  formatProblem,
  POLICY_ACTIONS,
  type PolicyAction,
  PolicyError,
  type PolicyExplanation,
  readPolicyFile,
} from '../policy';
import { factNameProblem } from '../schemas/fact-name';
import { puppetExtensionName, puppetExtensionOid } from '../tls/certificate';
import { formatTable, printable } from './admin-client';

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * Reads the policy for a command. An invalid file prints every problem (file:line:col) on
 * stderr, then ends as any operator mistake does: one line, exit 2.
 */
function readForCommand(file: string, json: boolean | undefined): CompiledPolicy {
  try {
    return readPolicyFile(file);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    if (json) process.stdout.write(`${JSON.stringify({ file, valid: false, problems: err.problems }, null, 2)}\n`);
    else for (const p of err.problems) process.stderr.write(`${formatProblem({ ...p, message: `error: ${printable(p.message)}` })}\n`);
    throw new ConfigError(`${file} is not a valid policy (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'})`);
  }
}

interface ExplainOptions {
  certname: string;
  ext: string[];
  environment?: string;
  defaultEnvironment: string;
  sensitive?: boolean;
  action: PolicyAction | 'all';
  exporter: string[];
  requester: string[];
  json?: boolean;
}

/** The caller the broker would see for a certificate with these attributes. */
function callerFrom(o: ExplainOptions): Caller {
  const extensions: Record<string, string> = {};
  for (const pair of o.ext) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--ext ${JSON.stringify(pair)} must be NAME=VALUE, like pp_role=keystone`);
    let name: string;
    try {
      name = puppetExtensionName(puppetExtensionOid(pair.slice(0, eq)));
    } catch (err) {
      throw new ConfigError(`--ext: ${(err as Error).message}`);
    }
    if (name in extensions) throw new ConfigError(`--ext ${name} is given twice; a certificate carries each extension once`);
    extensions[name] = pair.slice(eq + 1);
  }
  // The broker takes the environment from pp_environment; the two cannot disagree.
  const fromExt = extensions.pp_environment;
  if (o.environment !== undefined && fromExt !== undefined && o.environment !== fromExt) {
    throw new ConfigError(
      `--environment ${o.environment} contradicts --ext pp_environment=${fromExt} (the broker takes the environment from pp_environment)`,
    );
  }
  const environment = o.environment ?? fromExt ?? o.defaultEnvironment;
  return {
    certname: o.certname,
    environment: environmentOption(
      o.environment ? '--environment' : fromExt ? '--ext pp_environment' : '--default-environment',
      environment,
    ),
    extensions,
  };
}

function checkFactName(field: string, value: string): string {
  const problem = factNameProblem(field, value);
  if (problem) throw new ConfigError(problem);
  return value;
}

function printExplanations(policy: CompiledPolicy, caller: Caller, o: ExplainOptions, results: PolicyExplanation[]): void {
  const out = process.stdout;
  const ext = Object.entries(caller.extensions).map(([k, v]) => `${k}=${v}`);
  const fact = results[0].fact;
  const holders = [
    o.exporter.length ? `exporters=${o.exporter.join(',')}` : '',
    o.requester.length ? `requesters=${o.requester.join(',')}` : '',
  ].filter(Boolean);
  out.write(`caller  ${[caller.certname, `environment=${caller.environment}`, ...ext].map(printable).join('  ')}\n`);
  out.write(
    `fact    ${[`${fact.category}.${fact.name}`, o.sensitive ? 'sensitive' : 'not sensitive', ...holders].map(printable).join('  ')}\n`,
  );
  out.write(`policy  ${policy.source}  version ${policy.version}  ${policy.rules.length} rule${policy.rules.length === 1 ? '' : 's'}\n\n`);
  out.write(
    formatTable(results, [
      { header: 'action', value: (r) => r.action },
      { header: 'decision', value: (r) => (r.allowed ? 'allow' : 'deny') },
      { header: 'by', value: (r) => (r.rule ? `rules[${r.rule.index}] line ${r.rule.line}` : r.basis.replace(/_/g, ' ')) },
      { header: 'reason', value: (r) => r.reason },
    ]),
  );
  for (const r of results) {
    for (const s of r.skipped)
      out.write(`  ${r.action}: rules[${s.rule.index}] (line ${s.rule.line}) did not apply: ${printable(s.why)}\n`);
  }
}

/** Policy files are local: these commands need no broker. */
export function policyCommand(): Command {
  const policy = new Command('policy').description('access policy files: check one, or explain who may read, export or generate a fact');

  policy
    .command('check')
    .description('validate a policy file: errors with line numbers (exit 2), then trust warnings (exit 0)')
    .argument('<file>', 'policy file (YAML or JSON)')
    .option('--json', 'print JSON instead of text')
    .action((file: string, o: { json?: boolean }) => {
      const compiled = readForCommand(file, o.json);
      const warnings = checkPolicy(compiled);
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({ file, valid: true, version: compiled.version, rules: compiled.rules.length, warnings }, null, 2)}\n`,
        );
        return;
      }
      for (const w of warnings) process.stderr.write(`${file}:${w.line}: warning: ${w.message}\n`);
      process.stdout.write(
        `${file}: valid, ${compiled.rules.length} rule${compiled.rules.length === 1 ? '' : 's'}, version ${compiled.version}${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : ''}\n`,
      );
    });

  policy
    .command('explain')
    .description('which rule allows or denies a caller an action on a fact, and why')
    .argument('<file>', 'policy file (YAML or JSON)')
    .argument('<category>', 'fact category, e.g. db')
    .argument('<name>', 'fact name, e.g. keystone_password')
    .requiredOption('--certname <certname>', "the caller's certname")
    .option('--ext <name=value>', 'an extension of its certificate, repeatable: --ext pp_role=keystone', collect, [])
    .option('--environment <env>', "the caller's environment (default: --ext pp_environment, else --default-environment)")
    .option('--default-environment <env>', 'as serve: the environment of certificates without pp_environment', 'production')
    .option('--sensitive', 'the fact is sensitive (a secret)')
    .addOption(new Option('--action <action>', 'the action to explain').choices([...POLICY_ACTIONS, 'all']).default('all'))
    .option('--exporter <certname>', 'a node exporting the fact, repeatable (for reads)', collect, [])
    .option('--requester <certname>', 'a node that asked for the secret to be generated, repeatable (for reads)', collect, [])
    .option('--json', 'print JSON instead of a table')
    .action((file: string, category: string, name: string, o: ExplainOptions) => {
      const fact = {
        category: checkFactName('category', category),
        name: checkFactName('name', name),
        sensitive: o.sensitive === true,
        exporters: o.exporter,
        requesters: o.requester,
      };
      const caller = callerFrom(o);
      const compiled = readForCommand(file, o.json);
      const actions = o.action === 'all' ? POLICY_ACTIONS : [o.action];
      const results = actions.map((action) => compiled.explain(caller, action, fact));
      if (o.json) process.stdout.write(`${JSON.stringify({ policy: { file, version: compiled.version }, decisions: results }, null, 2)}\n`);
      else printExplanations(compiled, caller, o, results);
    });

  return policy;
}
