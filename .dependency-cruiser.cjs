/**
 * The layers of src/, checked by `npm run lint:layers` (part of `npm test`). Imports point down:
 *   errors, log, crypto, schemas, files          leaves
 *   tls, db, config, policy, identity, devca     infrastructure and pure rules
 *   http, admin                                  transport helpers, admin authentication
 *   audit < facts < secrets < nodes < puppetdb;  features, in that order (no feature cycle)
 *   health; gates < graph (the deployment picture reads every table)
 *   backup                                       above every feature: it copies every table and the keys
 *   app                                          assembles the agent and admin apps
 *   broker.ts, services.ts                       wiring
 *   cli                                          commands
 * Type-only imports count too (parsed from the TypeScript sources with swc).
 */
const FEATURES = '^src/(audit|facts|nodes|secrets|puppetdb|health|gates|graph|backup)/';
const LEAVES = '^src/(errors|log|crypto|schemas|files)/';
module.exports = {
  forbidden: [
    {
      name: 'only-wiring-and-cli-import-backup',
      severity: 'error',
      comment: 'Backup reads every table and key file; no feature may depend on it (it would close a cycle through them).',
      from: { path: '^src/', pathNot: '^src/(backup|cli)/|^src/broker\\.ts$' },
      to: { path: '^src/backup/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules cannot be understood, tested or moved apart.',
      from: {},
      to: { circular: true },
    },
    { name: 'leaves-import-no-project-code', severity: 'error', from: { path: LEAVES }, to: { path: '^src/', pathNot: LEAVES } },
    {
      name: 'infrastructure-imports-no-feature',
      severity: 'error',
      from: { path: '^src/(tls|db|config|policy|identity|devca|http|admin)/' },
      to: { path: `${FEATURES}|^src/(app|cli)/|^src/(broker|services)\\.ts$` },
    },
    {
      name: 'audit-imports-no-other-feature',
      severity: 'error',
      from: { path: '^src/audit/' },
      to: { path: '^src/(facts|secrets|nodes|puppetdb|health)/' },
    },
    { name: 'facts-import-only-audit', severity: 'error', from: { path: '^src/facts/' }, to: { path: '^src/(secrets|nodes|puppetdb|health)/' } },
    {
      name: 'secrets-import-only-audit-and-facts',
      severity: 'error',
      from: { path: '^src/secrets/' },
      to: { path: '^src/(nodes|puppetdb|health)/' },
    },
    // Nodes come last: their lifecycle withdraws facts and reads the audit trail.
    { name: 'nodes-import-no-health', severity: 'error', from: { path: '^src/nodes/' }, to: { path: '^src/(puppetdb|health)/' } },
    // PuppetDB's part sits above nodes: its poller moves node states, its importer writes facts.
    { name: 'puppetdb-imports-no-health', severity: 'error', from: { path: '^src/puppetdb/' }, to: { path: '^src/(health|gates|graph|backup)/' } },
    { name: 'gates-import-no-feature', severity: 'error', from: { path: '^src/gates/' }, to: { path: FEATURES, pathNot: '^src/gates/' } },
    {
      name: 'graph-imports-only-gates',
      severity: 'error',
      from: { path: '^src/graph/' },
      to: { path: FEATURES, pathNot: '^src/(graph|gates)/' },
    },
    {
      name: 'health-imports-no-feature',
      severity: 'error',
      from: { path: '^src/health/' },
      to: { path: FEATURES, pathNot: '^src/health/' },
    },
    {
      name: 'features-import-no-app-or-wiring',
      severity: 'error',
      from: { path: FEATURES },
      to: { path: '^src/(app|cli)/|^src/(broker|services)\\.ts$' },
    },
    { name: 'app-imports-no-wiring-or-cli', severity: 'error', from: { path: '^src/app/' }, to: { path: '^src/cli/|^src/broker\\.ts$' } },
  ],
  options: {
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)' },
    tsPreCompilationDeps: true,
  },
};
