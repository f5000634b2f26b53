import { Command, Option } from 'commander';
import { startBroker } from '../broker';
import { addAdminServeOptions } from '../config/admin-config';
import { parseServeOptions, type ServeOptions } from '../config/serve-config';
import { ensureDevCa } from '../devca/dev-ca';
import { createLogger } from '../log/logger';
import type { TlsFiles } from '../tls/tls-material';
import { printDevCaHelp } from './dev-ca-help';

/** Nodes the development CA issues on first start, so the README's curl line works at once. */
export const EXAMPLE_NODES = [
  { certname: 'db.example.com', extensions: { pp_role: 'database', pp_environment: 'production' } },
  { certname: 'keystone.example.com', extensions: { pp_role: 'keystone', pp_environment: 'production' } },
  { certname: 'compute1.example.com', extensions: { pp_role: 'compute', pp_environment: 'production' } },
];

const opt = (flags: string, description: string, env: string) => new Option(flags, description).env(env);

export function serveCommand(): Command {
  return addAdminServeOptions(new Command('serve'))
    .description('run the broker (embedded store in --data-dir unless --database-url is given)')
    .addOption(opt('--ca <file>', 'CA bundle the client certificates chain to (Puppet 7: root + intermediate)', 'EXPORTFACT_CA'))
    .addOption(opt('--crl <file>', "CRL file, one CRL per CA like Puppet's crl.pem; watched and reloaded", 'EXPORTFACT_CRL'))
    .addOption(
      opt(
        '--crl-url <url>',
        'also poll this CRL URL (e.g. https://puppet:8140/puppet-ca/v1/certificate_revocation_list/ca)',
        'EXPORTFACT_CRL_URL',
      ),
    )
    .addOption(opt('--crl-interval <seconds>', 'how often --crl-url is polled (default 10)', 'EXPORTFACT_CRL_INTERVAL'))
    .addOption(opt('--crl-watch-interval <seconds>', 'how often --crl is checked for changes (default 2)', 'EXPORTFACT_CRL_WATCH_INTERVAL'))
    .addOption(opt('--cert <file>', "the broker's own certificate", 'EXPORTFACT_CERT'))
    .addOption(opt('--key <file>', "the broker's private key", 'EXPORTFACT_KEY'))
    .addOption(opt('--ssldir <dir>', 'take --ca, --crl, --cert and --key from a Puppet ssldir', 'EXPORTFACT_SSLDIR'))
    .addOption(opt('--certname <name>', 'certname of the broker in --ssldir', 'EXPORTFACT_CERTNAME'))
    .addOption(opt('--listen <host:port>', 'agent port address', 'EXPORTFACT_LISTEN').default('127.0.0.1:8150'))
    .addOption(
      opt(
        '--request-timeout <seconds>',
        'time a client has to send a whole request, body included (default 30)',
        'EXPORTFACT_REQUEST_TIMEOUT',
      ),
    )
    .addOption(opt('--data-dir <dir>', 'embedded store folder (the default store; default ./data)', 'EXPORTFACT_DATA_DIR'))
    .addOption(opt('--database-url <url>', 'PostgreSQL URL, e.g. postgres://exportfact@db:5432/exportfact', 'EXPORTFACT_DATABASE_URL'))
    .addOption(
      opt('--default-environment <name>', 'environment of certificates without pp_environment', 'EXPORTFACT_DEFAULT_ENVIRONMENT').default(
        'production',
      ),
    )
    .addOption(
      opt(
        '--keyring <file>',
        'keyring with the encryption keys (mode 0600; created if the store holds no secret yet; default ./keyring.json). EXPORTFACT_KEYRING_JSON may hold the keyring itself',
        'EXPORTFACT_KEYRING',
      ),
    )
    .addOption(
      opt(
        '--secret-grace <seconds>',
        'how long a previous secret version stays readable after a rotation (default 86400)',
        'EXPORTFACT_SECRET_GRACE',
      ),
    )
    .addOption(
      opt('--reencrypt-batch <rows>', 'rows re-sealed per transaction during a key rotation (default 200)', 'EXPORTFACT_REENCRYPT_BATCH'),
    )
    .addOption(
      opt(
        '--policy <file>',
        'access policy (docs/policy.md); reloaded on change and SIGHUP, a broken file keeps the old one in force',
        'EXPORTFACT_POLICY',
      ),
    )
    .addOption(
      opt('--policy-watch-interval <seconds>', 'how often --policy is checked for changes (default 2)', 'EXPORTFACT_POLICY_WATCH_INTERVAL'),
    )
    .addOption(
      opt(
        '--audit-key <file>',
        "Ed25519 key the broker signs the audit chain's head with (outside the database; created 0600; default ./audit-signing.key)",
        'EXPORTFACT_AUDIT_KEY',
      ),
    )
    .addOption(
      opt(
        '--audit-heads <file>',
        'append-only file of the signed audit chain heads, kept outside the database (default: audit-heads.jsonl beside --audit-key)',
        'EXPORTFACT_AUDIT_HEADS',
      ),
    )
    .addOption(
      opt(
        '--audit-device <file>',
        'also append every audit entry (never a value) to this JSON-lines file, which `audit verify` compares with the chain',
        'EXPORTFACT_AUDIT_DEVICE',
      ),
    )
    .addOption(
      new Option(
        '--audit-trust-key <file>',
        "another broker's audit public key (or key file) that `audit verify` trusts (repeatable)",
      ).argParser((v: string, acc: string[] = []) => [...acc, v]),
    )
    .addOption(
      opt(
        '--dev-ca [dir]',
        'create (once) and use a development CA in dir (default ./certs) for any TLS file not given',
        'EXPORTFACT_DEV_CA',
      ),
    )
    .action(async (o: ServeOptions) => {
      const log = createLogger();
      let devCaFiles: TlsFiles | undefined;
      if (o.devCa) {
        const dir = typeof o.devCa === 'string' ? o.devCa : 'certs';
        const { paths, created } = await ensureDevCa(dir, EXAMPLE_NODES);
        devCaFiles = { ca: paths.caCert, crl: paths.crl, cert: paths.serverCert, key: paths.serverKey };
        if (created) log.info({ dir }, 'development CA created');
      }
      const config = parseServeOptions(o, devCaFiles);
      const broker = await startBroker(config, log);
      if (o.devCa) printDevCaHelp(typeof o.devCa === 'string' ? o.devCa : 'certs', broker.url, EXAMPLE_NODES[0].certname);
      const stop = (signal: string) => {
        log.info({ signal }, 'shutting down');
        broker.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGHUP', () => void broker.reload());
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
