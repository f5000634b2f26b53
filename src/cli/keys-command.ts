import { Command, Option } from 'commander';
import { addKeyToFile, createKeyringFile } from '../secrets/keyring';
import { type AdminClientOptions, addAdminClientOptions, adminClientFromOptions, printResult, printTable } from './admin-client';

interface KeyStatus {
  write_key_id: string | null;
  keys: { key_id: string; rows: number; retired: boolean; brokers: string[] }[];
  brokers: { host: string; live: boolean; key_ids: string[] }[];
  rotations: { id: number; target_key_id: string; state: string; rows_done: number; requested_by: string }[];
}

function printKeyStatus(s: KeyStatus): void {
  process.stdout.write(`write key: ${s.write_key_id}\n\n`);
  printTable(s.keys, [
    { header: 'key_id' },
    { header: 'rows', align: 'right' },
    { header: 'retired' },
    { header: 'brokers', value: (k) => k.brokers.join(' ') },
  ]);
  const open = s.rotations.find((r) => r.state !== 'done');
  if (open) process.stdout.write(`\nrotation ${open.id} to ${open.target_key_id}: ${open.state}, ${open.rows_done} rows re-sealed\n`);
}

const keyringOption = () => new Option('--keyring <file>', 'keyring file').env('EXPORTFACT_KEYRING').default('keyring.json');

/** Keyring files are local: these commands work without a running broker. */
export function keysCommand(): Command {
  const keys = new Command('keys').description('encryption keys: the keyring file, and online rotation through a broker');
  keys
    .command('init')
    .description('create a keyring (mode 0600) with one key and a fingerprint key; never overwrites')
    .addOption(keyringOption())
    .action((o: { keyring: string }) => {
      const keyring = createKeyringFile(o.keyring);
      process.stdout.write(`created keyring ${o.keyring} with key ${keyring.newestId}\n`);
    });
  keys
    .command('add')
    .description('add a new key to a keyring file and print its id (copy the file to every broker, then rotate)')
    .addOption(keyringOption())
    .action((o: { keyring: string }) => {
      process.stdout.write(`${addKeyToFile(o.keyring)}\n`);
    });
  keys.addCommand(
    addAdminClientOptions(new Command('status').description('rows per key, brokers per key, rotations')).action(
      async (o: AdminClientOptions) => {
        const status = await adminClientFromOptions(o).request<KeyStatus>('GET', '/admin/v1/keys');
        printResult(o, status, () => printKeyStatus(status));
      },
    ),
  );
  keys.addCommand(
    addAdminClientOptions(
      new Command('rotate').description('add a key (or use --key-id), re-seal every secret with it online, retire the old ones'),
    )
      .option('--key-id <id>', "rotate to a key already in every broker's keyring (after keys add and copying the file)")
      .option('--no-wait', 'return once the rotation is requested')
      .action(async (o: AdminClientOptions & { keyId?: string; wait: boolean }) => {
        const client = adminClientFromOptions(o);
        const { rotation } = await client.request<{ rotation: { id: number; target_key_id: string; state: string } }>(
          'POST',
          '/admin/v1/keys/rotate',
          o.keyId ? { key_id: o.keyId } : {},
        );
        process.stderr.write(`exportfact: rotation ${rotation.id} to key ${rotation.target_key_id} requested\n`);
        if (!o.wait) return;
        let said = '';
        // Says what it waits for, each time that changes: brokers that still lack the key, then rows re-sealed.
        const say = (line: string) => {
          if (line !== said) process.stderr.write(`exportfact: ${line}\n`);
          said = line;
        };
        let total: number | undefined;
        for (;;) {
          const status = await client.request<KeyStatus>('GET', '/admin/v1/keys');
          const mine = status.rotations.find((r) => r.id === rotation.id);
          if (mine?.state === 'done') {
            printResult(o, status, () => printKeyStatus(status));
            return;
          }
          const lacking = status.brokers.filter((b) => b.live && !b.key_ids.includes(rotation.target_key_id)).map((b) => b.host);
          if (mine?.state === 'waiting' && lacking.length)
            say(`waiting for brokers to load key ${rotation.target_key_id}: ${lacking.join(' ')}`);
          if (mine?.state === 'reencrypting') {
            total ??= mine.rows_done + status.keys.filter((k) => k.key_id !== rotation.target_key_id).reduce((n, k) => n + k.rows, 0);
            say(`re-sealing secrets with key ${rotation.target_key_id}: ${mine.rows_done} of ${total} rows`);
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      }),
  );
  return keys;
}
