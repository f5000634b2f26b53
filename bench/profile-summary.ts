// Summarises V8 .cpuprofile files (from `node --cpu-prof`, e.g. the brokers under
// BENCH_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"): self time by function and by
// package, and inclusive time by function, so "what does a sync cost besides the handshake"
// can be read off. `node dist/bench/profile-summary.js FILE.cpuprofile… [--top N] [--match TEXT]`
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** `express`, `@peculiar/x509`, `src/tls`, `node:internal/tls` … : where a frame's code lives. */
export function packageOf(url: string): string {
  if (!url) return '(native/VM)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url.split('/').slice(0, 3).join('/');
  const dist = url.indexOf('/dist/');
  if (dist >= 0)
    return url
      .slice(dist + 6)
      .split('/')
      .slice(0, 2)
      .join('/');
  return url;
}

const frameName = (n: Node) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url ? `${n.callFrame.url.replace(/^.*\/(node_modules|dist)\//, '')}:${n.callFrame.lineNumber + 1}` : ''}`.trim();

/** `from`/`to`: a window in µs of the monotonic clock (process.hrtime.bigint() / 1000n), which V8's timestamps use. */
export function summarise(profile: Profile, from = -Infinity, to = Infinity) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < from || t > to) continue;
    const d = profile.timeDeltas[i + 1] ?? 0; // the delta after a sample is the time it stood for
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + d);
  }
  const self = new Map<string, number>();
  const pkg = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const name = frameName(n);
    total += us;
    if (n.callFrame.functionName === '(idle)') idle += us;
    self.set(name, (self.get(name) ?? 0) + us);
    pkg.set(packageOf(n.callFrame.url), (pkg.get(packageOf(n.callFrame.url)) ?? 0) + us);
    // Inclusive: every distinct frame name on the stack gets the sample once (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = frameName(byId.get(cur)!);
      if (seen.has(f)) continue;
      seen.add(f);
      incl.set(f, (incl.get(f) ?? 0) + us);
    }
  }
  return { totalUs: total, idleUs: idle, self, pkg, incl };
}

function top(m: Map<string, number>, n: number, busy: number, match?: string): string[] {
  return [...m]
    .filter(([k]) => !match || k.includes(match))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${(v / 1000).toFixed(0).padStart(8)} ms ${((v / busy) * 100).toFixed(1).padStart(5)} %  ${k}`);
}

export function printSummary(s: ReturnType<typeof summarise>, n: number, match?: string, ops?: number): void {
  const busy = s.totalUs - s.idleUs;
  const perOp = ops ? `, ${(busy / ops).toFixed(0)} µs busy per op` : '';
  console.log(`${(s.totalUs / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy${perOp} (percentages of busy)`);
  console.log('-- self time by package');
  for (const l of top(s.pkg, n, busy)) console.log(l);
  console.log('-- self time by function');
  for (const l of top(s.self, n, busy, match)) console.log(l);
  console.log('-- inclusive time by function');
  for (const l of top(s.incl, n, busy, match)) console.log(l);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  let n = 25;
  let match: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') n = Number(args[++i]);
    else if (args[i] === '--match') match = args[++i];
    else files.push(args[i]);
  }
  for (const f of files) {
    console.log(`\n== ${f}`);
    printSummary(summarise(JSON.parse(fs.readFileSync(f, 'utf8')) as Profile), n, match);
  }
}
