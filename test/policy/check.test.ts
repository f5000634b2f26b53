/**
 * Trust warnings: a grant of secrets to whatever a node wrote into its own CSR is flagged;
 * grants anchored on a certname or on pp_auth_role (which the CA refuses unless allowed) are not.
 */

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { checkPolicy, compilePolicy, DEFAULT_POLICY } from '../../src/policy';

const EXAMPLE = path.resolve(__dirname, '..', '..', '..', 'puppet-module', 'examples', 'policy.yaml');
// A write rule, so the policy-wide "writes are open" warning stays out of the rule cases.
const WRITES = '  - {match: {certname: db.example.com}, allow: export, facts: ["db.*"]}\n';

const warningsOf = (rule: string) => checkPolicy(compilePolicy(`rules:\n${WRITES}${rule}`, 'p.yaml'));

describe('policy check: trust warnings', () => {
  const flagged: [string, string, RegExp][] = [
    [
      'sensitive reads by pp_role alone',
      '  - {match: {pp_role: keystone}, allow: read, facts: [db.pw], sensitive: true}\n',
      /rules\[1\] grants read of sensitive facts to any node whose certificate claims pp_role=keystone; these extensions are chosen by the node in its CSR/,
    ],
    [
      'reads of any sensitivity by pp_role and pp_environment',
      '  - {match: {pp_role: keystone, pp_environment: production}, allow: read, facts: ["db.*"]}\n',
      /claims pp_role=keystone pp_environment=production/,
    ],
    [
      'generate by environment alone',
      '  - {match: {environment: production}, allow: generate, facts: [db.pw]}\n',
      /grants generate \(and so read\) of secrets to any node whose certificate claims environment=production/,
    ],
    [
      'sensitive reads to every node',
      '  - {allow: read, facts: ["*.*"], sensitive: true}\n',
      /grants read of sensitive facts to every node; add a certname match or match pp_auth_role/,
    ],
    [
      'a certname of wildcards only',
      '  - {match: {certname: "**", pp_role: x}, allow: read, facts: [db.pw]}\n',
      /rules\[1\] grants read of sensitive facts/,
    ],
  ];
  for (const [what, rule, message] of flagged) {
    it(`warns about ${what}, naming the rule's line`, () => {
      const w = warningsOf(rule);
      expect(w).to.have.length(1);
      expect(w[0].message).to.match(message);
      expect(w[0].line).to.equal(3);
      expect(w[0].rule?.index).to.equal(1);
    });
  }

  const quiet: [string, string][] = [
    ['a certname match', '  - {match: {certname: "keystone*.example.com", pp_role: keystone}, allow: read, facts: [db.pw]}\n'],
    ['pp_auth_role', '  - {match: {pp_auth_role: secrets_reader}, allow: [read, generate], facts: ["*.*"]}\n'],
    ['pp_authorization', '  - {match: {pp_authorization: ops}, allow: read, facts: ["*.*"]}\n'],
    ['non-sensitive reads only', '  - {match: {pp_role: web}, allow: read, facts: ["*.*"], sensitive: false}\n'],
    ['a deny', '  - {match: {pp_role: web}, deny: [read, generate], facts: ["*.*"]}\n'],
    ['an export', '  - {match: {pp_role: web}, allow: export, facts: ["web.*"]}\n'],
  ];
  for (const [what, rule] of quiet) {
    it(`is quiet for ${what}`, () => {
      expect(warningsOf(rule)).to.deep.equal([]);
    });
  }

  it('warns when nothing restricts exports and generate, the built-in defaults included', () => {
    const open = checkPolicy(compilePolicy('rules:\n  - {match: {certname: a}, allow: read, facts: [db.pw]}\n', 'p.yaml'));
    expect(open.map((w) => w.rule)).to.deep.equal([null]);
    expect(open[0].message).to.match(
      /no rule allows export or generate, so every node may still export any fact and ask for any secret to be generated/,
    );
    expect(checkPolicy(DEFAULT_POLICY).map((w) => w.message)).to.deep.equal([open[0].message]);
  });

  it('finds nothing to warn about in the Kickstack example policy', () => {
    expect(checkPolicy(compilePolicy(fs.readFileSync(EXAMPLE, 'utf8'), EXAMPLE))).to.deep.equal([]);
  });
});
