import { Command, Option } from 'commander';
import { addKeyToFile, createKeyringFile } from '../secrets/keyring';

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
  return keys;
}
