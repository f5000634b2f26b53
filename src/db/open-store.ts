import type { StoreConfig } from '../config/serve-config';
import { EmbeddedStore } from './embedded-store';
import { migrate } from './migrate';
import { PgStore } from './pg-store';
import type { Store } from './store';

/** Opens the configured store and brings its schema up to date. */
export async function openStore(config: StoreConfig): Promise<Store> {
  const store = config.kind === 'postgres' ? new PgStore(config.url) : await EmbeddedStore.open(config.dataDir);
  try {
    await migrate(store);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
