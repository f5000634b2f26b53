// How the importer reads the old module's exported resources. The resources are shaped exactly
// as PuppetDB 7.12 returned them for the old module 0.1.1 (see puppetdb.test.ts, which reads
// them from a real PuppetDB); here every rule and every refusal is checked one by one.
import { expect } from 'chai';
import { MAX_IMPORTED_VALUE_BYTES, readOldExports } from '../../src/puppetdb/old-exports';
import type { PuppetdbResource } from '../../src/puppetdb/puppetdb-client';

const LIN = '/etc/facter/facts.d';
const WIN = 'C:/ProgramData/PuppetLabs/facter/facts.d';

/** The two resources `exportfact::export { NAME: value => VALUE, category => CATEGORY }` exported. */
function twins(node: string, name: string, value: string, category: string): PuppetdbResource[] {
  const common = {
    certname: node,
    exported: true,
    file: '/etc/puppet/code/modules/exportfact/manifests/export.pp',
    environment: 'production',
  };
  return [
    {
      ...common,
      type: 'Augeas',
      title: `fact_${name}_lin`,
      line: 21,
      tags: [
        'exportfact::export',
        'exportfact',
        'class',
        'export',
        node,
        `fact_${name}_lin`,
        name,
        'augeas',
        'redhat',
        `fact_${category}`,
        'node',
      ],
      parameters: {
        context: `/files${LIN}/${category}.txt`,
        incl: `${LIN}/${category}.txt`,
        lens: 'Shellvars.lns',
        changes: `set ${name} ${value}`,
        require: ['Class[Exportfact]', `File[${LIN}/${category}.txt]`],
        tag: [`fact_${category}`, 'RedHat'],
      },
    },
    {
      ...common,
      type: 'File_line',
      title: `fact_${name}_win`,
      line: 30,
      tags: [
        name,
        'file_line',
        'exportfact::export',
        'exportfact',
        'class',
        'export',
        node,
        'windows',
        `fact_${name}_win`,
        `fact_${category}`,
        'node',
      ],
      parameters: {
        line: `${name}=${value}`,
        path: `${WIN}/${category}.txt`,
        match: `^${name}=`,
        require: ['Class[Exportfact]', `File[${WIN}/${category}.txt]`],
        tag: [`fact_${category}`, 'windows'],
      },
    },
  ];
}

const augeasOf = (r: PuppetdbResource[]) => r[0];
const fileLineOf = (r: PuppetdbResource[]) => r[1];

describe('reading the old module 0.1.x exports out of PuppetDB resources', () => {
  it('the Augeas and File_line twins of one export are one fact, named by node, category (the facts.d file) and name', () => {
    const read = readOldExports([...twins('db1', 'db_host', 'db1.example.com', 'mysql'), ...twins('mq1', 'mq_host', 'mq1', 'rabbitmq')]);
    expect(read.problems).to.deep.equal([]);
    expect(read.warnings).to.deep.equal([]);
    expect(read.exports).to.deep.equal([
      {
        node: 'db1',
        category: 'mysql',
        name: 'db_host',
        value: 'db1.example.com',
        resources: ['Augeas[fact_db_host_lin]', 'File_line[fact_db_host_win]'],
      },
      {
        node: 'mq1',
        category: 'rabbitmq',
        name: 'mq_host',
        value: 'mq1',
        resources: ['Augeas[fact_mq_host_lin]', 'File_line[fact_mq_host_win]'],
      },
    ]);
  });

  it('one of the twins alone is enough; releases before the twins titled the Augeas resource fact_NAME', () => {
    const onlyWin = fileLineOf(twins('w1', 'share', '\\\\srv\\share', 'smb'));
    const older = { ...augeasOf(twins('old1', 'proxy', 'squid1', 'http_proxy')), title: 'fact_proxy' };
    const read = readOldExports([onlyWin, older]);
    expect(read.problems).to.deep.equal([]);
    expect(read.exports.map((e) => [e.node, e.category, e.name, e.value, e.resources])).to.deep.equal([
      ['old1', 'http_proxy', 'proxy', 'squid1', ['Augeas[fact_proxy]']],
      ['w1', 'smb', 'share', '\\\\srv\\share', ['File_line[fact_share_win]']],
    ]);
  });

  it('a value with spaces is taken whole, as the manifest gave it, with a warning (the old readers got its first word); quotes are Augeas syntax, no cut', () => {
    const spaced = twins('web1', 'motd', 'hello from web1', 'web');
    const quoted = augeasOf(twins('web1', 'banner', "'a \\' b'", 'web'));
    const read = readOldExports([...spaced, quoted]);
    expect(read.exports.map((e) => [e.name, e.value])).to.deep.equal([
      ['banner', "a ' b"],
      ['motd', 'hello from web1'],
    ]);
    expect(read.warnings.map((w) => w.message)).to.deep.equal([
      "the value of web.motd holds whitespace: the old module's readers got only its first word (Augeas cut it there); it is imported whole, as the manifest gave it",
    ]);
  });

  it('twins that disagree: the Augeas value (what Linux readers applied), with a warning', () => {
    const pair = twins('n1', 'url', 'http://a/', 'app');
    pair[1] = { ...pair[1], parameters: { ...pair[1].parameters, line: 'url=http://b/' } };
    const read = readOldExports(pair);
    expect(read.exports.map((e) => e.value)).to.deep.equal(['http://a/']);
    expect(read.warnings[0]).to.deep.include({ node: 'n1', resource: 'Augeas[fact_url_lin], File_line[fact_url_win]' });
  });

  it('changes given as an array of one command are read too', () => {
    const a = augeasOf(twins('n1', 'port', '5672', 'rabbitmq'));
    const read = readOldExports([{ ...a, parameters: { ...a.parameters, changes: ['set port 5672'] } }]);
    expect(read.exports.map((e) => e.value)).to.deep.equal(['5672']);
  });

  it('anything else is a problem naming the node and the resource, and nothing is imported from it', () => {
    const a = augeasOf(twins('n1', 'db_password', 'hunter2-secret', 'mysql'));
    const f = fileLineOf(twins('n1', 'db_password', 'hunter2-secret', 'mysql'));
    const cases: [PuppetdbResource, string][] = [
      [
        { ...a, title: 'fact_rm_lin', parameters: { ...a.parameters, changes: 'rm rm' } },
        'its changes (a "rm" command of 2 words) are not "set NAME VALUE"',
      ],
      [
        { ...a, parameters: { ...a.parameters, changes: 'set db_password' } },
        'its changes (a "set" command of 2 words) are not "set NAME VALUE"',
      ],
      [
        { ...a, parameters: { ...a.parameters, changes: ['set db_password hunter2-secret', 'set x y'] } },
        'its changes (an array of 2) are not one "set NAME VALUE" command',
      ],
      [
        { ...a, title: 'fact_other_lin' },
        'its title does not name the fact its changes set ("db_password"): not an export of the old module',
      ],
      [
        { ...a, title: 'fact_DB_lin', parameters: { ...a.parameters, changes: 'set DB hunter2-secret' } },
        'the fact name "DB" is not a Facter-style name (lowercase letter, then lowercase letters, digits or _)',
      ],
      [
        { ...a, parameters: { ...a.parameters, incl: '/etc/facter/facts.d/mysql.yaml' } },
        'its file "/etc/facter/facts.d/mysql.yaml" is not a facts.d/CATEGORY.txt of the old module',
      ],
      [
        { ...a, parameters: { ...a.parameters, incl: '/etc/facter/facts.d/My-SQL.txt' } },
        'the category "My-SQL" is not a Facter-style name (lowercase letter, then lowercase letters, digits or _)',
      ],
      [{ ...a, tags: a.tags.filter((t) => t !== 'fact_mysql') }, 'it lacks the tag fact_mysql its file mysql.txt calls for'],
      [{ ...f, parameters: { ...f.parameters, line: 'db_password' } }, 'its line is not "NAME=VALUE" (no "=")'],
      [{ ...f, parameters: { ...f.parameters, line: 'db_password=' } }, 'its line is not "NAME=VALUE" (no value)'],
      [{ ...f, parameters: { ...f.parameters, line: 42 } }, 'its line (number) is not "NAME=VALUE"'],
    ];
    for (const [resource, message] of cases) {
      const read = readOldExports([resource]);
      expect(read.exports, message).to.deep.equal([]);
      expect(read.problems, message).to.deep.equal([{ node: 'n1', resource: `${resource.type}[${resource.title}]`, message }]);
      expect(JSON.stringify(read), 'a value never reaches a message').to.not.include('hunter2');
    }
  });

  it('a value larger than a fact may be, or one PostgreSQL cannot store, is a problem', () => {
    const big = augeasOf(twins('n1', 'blob', 'x'.repeat(MAX_IMPORTED_VALUE_BYTES + 1), 'data'));
    const nul = augeasOf(twins('n1', 'nul', 'a\u0000b', 'data'));
    const read = readOldExports([big, nul]);
    expect(read.problems.map((p) => p.message)).to.deep.equal([
      `the value of data.blob is ${MAX_IMPORTED_VALUE_BYTES + 1} bytes; a fact holds at most ${MAX_IMPORTED_VALUE_BYTES}`,
      'the value of data.nul is not a valid fact value: it holds the character U+0000, which PostgreSQL cannot store',
    ]);
  });

  it('resources of other types are not the old module: they are ignored, not reported', () => {
    const other: PuppetdbResource = { ...augeasOf(twins('n1', 'x', 'y', 'c')), type: 'File', title: 'fact_x_lin' };
    expect(readOldExports([other])).to.deep.equal({ exports: [], problems: [], warnings: [] });
  });
});
