import type { StoreConfig } from '../config/serve-config';
import { StoreUnavailableError } from '../errors/store-errors';
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
    // At start the operator needs the driver's own words (ECONNREFUSED host:port), not the 503 text meant for nodes.
    throw err instanceof StoreUnavailableError ? err.cause : err;
  }
  return store;
}
