import { Command, Option } from 'commander';
import { parseDatabaseUrl } from '../config/values';
import { openStore } from '../db/open-store';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('apply pending SQL migrations and exit (serve also does this at start)')
    .addOption(new Option('--data-dir <dir>', 'embedded store folder').env('EXPORTFACT_DATA_DIR'))
    .addOption(new Option('--database-url <url>', 'PostgreSQL URL').env('EXPORTFACT_DATABASE_URL'))
    .action(async (o: { dataDir?: string; databaseUrl?: string }) => {
      const store = await openStore(
        o.databaseUrl ? { kind: 'postgres', url: parseDatabaseUrl(o.databaseUrl) } : { kind: 'embedded', dataDir: o.dataDir ?? 'data' },
      );
      await store.close();
      process.stdout.write('schema up to date\n');
    });
}
