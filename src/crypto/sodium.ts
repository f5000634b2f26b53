import sodium from 'libsodium-wrappers';

/** libsodium initialises asynchronously once; every user awaits this before calling it. */
export async function getSodium(): Promise<typeof sodium> {
  await sodium.ready;
  return sodium;
}
