import { Command, Option } from 'commander';
import { type AdminClientOptions, addAdminClientOptions, adminClientFromOptions, printResult, printTable } from './admin-client';

interface Graph {
  environment: string;
  nodes: { certname: string; role: string | null; state: string }[];
  facts: { fact: string; exporters: { certname: string; state: string }[] }[];
  edges: { from: string | null; fact: string; to: string; gate: string; state: string }[];
  waits: {
    certname: string;
    role: string | null;
    gate: string;
    since: string;
    depth: number;
    ready: boolean;
    missing: { fact: string; min: number; have: number; exporters: string[]; nobody_exports: boolean }[];
  }[];
}

interface GraphOptions extends AdminClientOptions {
  environment?: string;
}

const envOption = () => new Option('--environment <name>', 'Puppet environment (default: the broker default)');
const fetchGraph = (o: GraphOptions) =>
  adminClientFromOptions(o).request<Graph>(
    'GET',
    `/admin/v1/graph${o.environment ? `?environment=${encodeURIComponent(o.environment)}` : ''}`,
  );

/** `exportfact waits`: closed gates, what each waits for and who could publish it, root causes first. */
export function waitsCommand(): Command {
  return addAdminClientOptions(
    new Command('waits').description(
      'closed gates: what each node waits for and who could publish it, root causes first (scope graph:read)',
    ),
  )
    .addOption(envOption())
    .action(async (o: GraphOptions) => {
      const graph = await fetchGraph(o);
      printResult(o, graph.waits, () => {
        if (!graph.waits.length) return void process.stdout.write(`nothing waits in ${graph.environment}\n`);
        printTable(graph.waits, [
          { header: 'node', value: (w) => w.certname },
          { header: 'role', value: (w) => w.role ?? '' },
          { header: 'gate', value: (w) => w.gate },
          { header: 'waits for', value: (w) => w.missing.map((m) => `${m.fact}${m.min > 1 ? ` (${m.have} of ${m.min})` : ''}`).join(', ') },
          {
            header: 'who could publish it',
            value: (w) => w.missing.map((m) => (m.nobody_exports ? 'nobody exports it' : m.exporters.join(' '))).join('; '),
          },
          { header: 'since', value: (w) => w.since },
          { header: 'cause', value: (w) => (w.ready ? 'opens at its next run' : w.depth === 0 ? 'root' : `behind ${w.depth}`) },
        ]);
      });
    });
}

/** `exportfact graph --format dot|json`: the picture for other tools (Graphviz, scripts). */
export function graphCommand(): Command {
  return addAdminClientOptions(
    new Command('graph').description('the deployment picture: nodes, facts and who waits on what (scope graph:read)'),
  )
    .addOption(envOption())
    .addOption(new Option('--format <format>', 'dot (Graphviz) or json').choices(['dot', 'json']).default('dot'))
    .action(async (o: GraphOptions & { format: 'dot' | 'json' }) => {
      const graph = await fetchGraph(o);
      process.stdout.write(o.format === 'json' ? `${JSON.stringify(graph, null, 2)}\n` : toDot(graph));
    });
}

const COLORS: Record<string, string> = { satisfied: 'darkgreen', waiting: 'darkorange', stale: 'gray', conflict: 'red' };
const quote = (s: string) => JSON.stringify(s);

/** Graphviz: exporters → facts → the nodes whose gates need them, edges coloured by state. */
export function toDot(graph: Graph): string {
  const lines = [`digraph ${quote(`exportfact ${graph.environment}`)} {`, '  rankdir=LR;', '  node [shape=box, fontsize=10];'];
  for (const n of graph.nodes)
    lines.push(
      `  ${quote(n.certname)} [label=${quote(n.role ? `${n.certname}\\n(${n.role})` : n.certname)}${n.state === 'active' ? '' : ', style=dashed'}];`,
    );
  for (const f of graph.facts) {
    lines.push(`  ${quote(`fact ${f.fact}`)} [label=${quote(f.fact)}, shape=ellipse];`);
    for (const e of f.exporters)
      lines.push(`  ${quote(e.certname)} -> ${quote(`fact ${f.fact}`)}${e.state === 'active' ? '' : ' [color=gray]'};`);
  }
  const seen = new Set<string>();
  for (const e of graph.edges) {
    const key = `${e.fact}>${e.to}`;
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push(`  ${quote(`fact ${e.fact}`)} -> ${quote(e.to)} [color=${COLORS[e.state] ?? 'black'}, label=${quote(e.state)}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
