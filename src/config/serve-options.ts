import { type Command, Option } from 'commander';

/**
 * Every option of `exportfact serve`, in one table: the command line, the environment variable
 * and the configuration file key (the long option's name) all come from here, so they never
 * drift apart. Defaults are applied in parseServeOptions, after the three sources are merged
 * (flag > environment > file > default).
 */
export interface ServeOptionSpec {
  /** `--name <value>` (or `[value]` when the value is optional, like --dev-ca). */
  flags: string;
  env: string;
  description: string;
  /** May be given several times (and as a YAML list, or comma-separated). */
  list?: boolean;
}

export const SERVE_OPTIONS: readonly ServeOptionSpec[] = [
  {
    flags: '--config <file>',
    env: 'EXPORTFACT_CONFIG',
    description: 'YAML file with any of these options, keys named as the long options',
  },
  { flags: '--ca <file>', env: 'EXPORTFACT_CA', description: 'CA bundle the client certificates chain to (Puppet 7: root + intermediate)' },
  { flags: '--crl <file>', env: 'EXPORTFACT_CRL', description: "CRL file, one CRL per CA like Puppet's crl.pem; watched and reloaded" },
  {
    flags: '--crl-url <url>',
    env: 'EXPORTFACT_CRL_URL',
    description: 'also poll this CRL URL (e.g. https://puppet:8140/puppet-ca/v1/certificate_revocation_list/ca)',
  },
  { flags: '--crl-interval <seconds>', env: 'EXPORTFACT_CRL_INTERVAL', description: 'how often --crl-url is polled (default 10)' },
  {
    flags: '--crl-watch-interval <seconds>',
    env: 'EXPORTFACT_CRL_WATCH_INTERVAL',
    description: 'how often --crl is checked for changes (default 2)',
  },
  { flags: '--cert <file>', env: 'EXPORTFACT_CERT', description: "the broker's own certificate" },
  { flags: '--key <file>', env: 'EXPORTFACT_KEY', description: "the broker's private key" },
  { flags: '--ssldir <dir>', env: 'EXPORTFACT_SSLDIR', description: 'take --ca, --crl, --cert and --key from a Puppet ssldir' },
  { flags: '--certname <name>', env: 'EXPORTFACT_CERTNAME', description: 'certname of the broker in --ssldir' },
  { flags: '--listen <host:port>', env: 'EXPORTFACT_LISTEN', description: 'agent port address (default 127.0.0.1:8150)' },
  {
    flags: '--request-timeout <seconds>',
    env: 'EXPORTFACT_REQUEST_TIMEOUT',
    description: 'time a client has to send a whole request, body included (default 30)',
  },
  { flags: '--data-dir <dir>', env: 'EXPORTFACT_DATA_DIR', description: 'embedded store folder (the default store; default ./data)' },
  {
    flags: '--database-url <url>',
    env: 'EXPORTFACT_DATABASE_URL',
    description: 'PostgreSQL URL, e.g. postgres://exportfact@db:5432/exportfact (a password goes in ~/.pgpass or PGPASSWORD)',
  },
  {
    flags: '--default-environment <name>',
    env: 'EXPORTFACT_DEFAULT_ENVIRONMENT',
    description: 'environment of certificates without pp_environment (default production)',
  },
  {
    flags: '--keyring <file>',
    env: 'EXPORTFACT_KEYRING',
    description:
      'keyring with the encryption keys (mode 0600; created if the store holds no secret yet; default ./keyring.json). EXPORTFACT_KEYRING_JSON may hold the keyring itself',
  },
  {
    flags: '--node-ttl <duration>',
    env: 'EXPORTFACT_NODE_TTL',
    description: 'a node not seen for this long expires: its facts leave the views (default 7d, as PuppetDB; 0: never)',
  },
  {
    flags: '--node-purge-ttl <duration>',
    env: 'EXPORTFACT_NODE_PURGE_TTL',
    description: "a deactivated or expired node's facts are deleted after this long; audit entries stay (default 14d; 0: never)",
  },
  {
    flags: '--puppetdb-url <url>',
    env: 'EXPORTFACT_PUPPETDB_URL',
    description:
      "PuppetDB's TLS URL (https://puppetdb:8081), queried with the broker's certificate: nodes PuppetDB deactivates or expires are deactivated here too",
  },
  {
    flags: '--puppetdb-interval <seconds>',
    env: 'EXPORTFACT_PUPPETDB_INTERVAL',
    description: "how often PuppetDB's node list is read (default 60)",
  },
  {
    flags: '--secret-grace <seconds>',
    env: 'EXPORTFACT_SECRET_GRACE',
    description: 'how long a previous secret version stays readable after a rotation (default 86400)',
  },
  {
    flags: '--reencrypt-batch <rows>',
    env: 'EXPORTFACT_REENCRYPT_BATCH',
    description: 'rows re-sealed per transaction during a key rotation (default 200)',
  },
  {
    flags: '--policy <file>',
    env: 'EXPORTFACT_POLICY',
    description: 'access policy (docs/policy.md); reloaded on change and SIGHUP, a broken file keeps the old one in force',
  },
  {
    flags: '--policy-watch-interval <seconds>',
    env: 'EXPORTFACT_POLICY_WATCH_INTERVAL',
    description: 'how often --policy is checked for changes (default 2)',
  },
  {
    flags: '--audit-key <file>',
    env: 'EXPORTFACT_AUDIT_KEY',
    description:
      "Ed25519 key the broker signs the audit chain's head with (outside the database; created 0600; default ./audit-signing.key)",
  },
  {
    flags: '--audit-heads <file>',
    env: 'EXPORTFACT_AUDIT_HEADS',
    description:
      'append-only file of the signed audit chain heads, kept outside the database (default: audit-heads.jsonl beside --audit-key)',
  },
  {
    flags: '--audit-device <file>',
    env: 'EXPORTFACT_AUDIT_DEVICE',
    description: 'also append every audit entry (never a value) to this JSON-lines file, which `audit verify` compares with the chain',
  },
  {
    flags: '--audit-trust-key <file>',
    env: 'EXPORTFACT_AUDIT_TRUST_KEYS',
    description: "another broker's audit public key (or key file) that `audit verify` trusts (repeatable)",
    list: true,
  },
  {
    flags: '--admin-listen <host:port>',
    env: 'EXPORTFACT_ADMIN_LISTEN',
    description: 'admin API address; keep it on loopback (default 127.0.0.1:8151)',
  },
  {
    flags: '--admin-certname <names>',
    env: 'EXPORTFACT_ADMIN_CERTNAMES',
    description: 'certnames of admin certificates (comma-separated, repeatable)',
    list: true,
  },
  {
    flags: '--admin-role <roles>',
    env: 'EXPORTFACT_ADMIN_ROLES',
    description:
      'pp_auth_role values of admin certificates (comma-separated, repeatable; none by default). Only if your CA never signs pp_auth_role unchecked (puppetserver: allow-authorization-extensions false, no autosign of it)',
    list: true,
  },
  {
    flags: '--admin-signing-key <file>',
    env: 'EXPORTFACT_ADMIN_SIGNING_KEY',
    description:
      'Ed25519 key admin tokens are verified with; `exportfact admin token` signs with the same file (default ./admin-token.key)',
  },
  {
    flags: '--dev-ca [dir]',
    env: 'EXPORTFACT_DEV_CA',
    description: 'create (once) and use a development CA in dir (default ./certs) for any TLS file not given',
  },
  {
    flags: '--log-format <format>',
    env: 'EXPORTFACT_LOG_FORMAT',
    description: 'pretty (one readable line per event; the default on a terminal) or json (the default otherwise)',
  },
  { flags: '--log-level <level>', env: 'EXPORTFACT_LOG_LEVEL', description: 'error, warn, info (default) or debug' },
];

/** The long name of an option (`database-url`), which is also its configuration file key. */
export const longName = (spec: ServeOptionSpec) => spec.flags.slice(2).split(/[ <[]/)[0];

/** The property commander gives it (`databaseUrl`). */
export const attributeName = (spec: ServeOptionSpec) => longName(spec).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

const collect = (value: string, previous: string[] | undefined) => [
  ...(previous ?? []),
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

/** Adds every serve option to the command, each with its environment variable. */
export function addServeOptions(cmd: Command): Command {
  for (const spec of SERVE_OPTIONS) {
    const option = new Option(spec.flags, spec.description).env(spec.env);
    cmd.addOption(spec.list ? option.argParser(collect) : option);
  }
  return cmd;
}
