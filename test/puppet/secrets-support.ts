/** What test/puppet/secrets.test.ts needs beyond ./support: `puppet facts` for a node, and where files hold a value. */
import fs from 'node:fs';
import path from 'node:path';
import { MODULE_DIR, type PuppetNode } from './support';

/** `puppet facts show` for a node, with the module's facts (as its agent would resolve them). */
export async function puppetFacts(node: PuppetNode): Promise<{ code: number; output: string }> {
  const args = ['facts', 'show', '--confdir', node.confdir, '--factpath', path.join(MODULE_DIR, 'lib', 'facter'), '--render-as', 'json'];
  const r = await node.puppetCommand(args);
  return { code: r.code, output: r.stdout + r.stderr };
}

/** Every file under dir (recursively) whose bytes contain needle, as paths relative to dir. */
export function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.readFileSync(p).includes(needle)) hits.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return hits;
}

/** Every file under dir, relative to it (to say where Puppet wrote what). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}
