import net from 'node:net';

/**
 * A TCP relay in front of PostgreSQL that can take one broker's LISTEN connection away and
 * keep it away, while its pool goes on working: the relay reads each connection's startup
 * message (plain text on a local, non-TLS connection) and, while blocking, cuts and refuses
 * the ones whose application_name is the listener's. That is the long LISTEN outage a test
 * cannot get from pg_terminate_backend (the listener reconnects within a second).
 */
export class ListenBlocker {
  private blocking = false;
  private readonly listeners = new Set<net.Socket>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    /** The database URL to give the broker: the same database, through the relay. */
    readonly url: string,
  ) {}

  static async start(databaseUrl: string, applicationName = 'exportfact-listen'): Promise<ListenBlocker> {
    const target = new URL(databaseUrl);
    const marker = Buffer.from(`application_name\0${applicationName}\0`);
    let blocker: ListenBlocker;
    const server = net.createServer((client) => {
      blocker.sockets.add(client);
      client.on('close', () => blocker.sockets.delete(client));
      client.on('error', () => undefined);
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        if (head.length < 4 || head.length < head.readInt32BE(0)) return; // the startup message is not whole yet
        client.off('data', onData);
        client.pause();
        const isListener = head.includes(marker);
        if (isListener && blocker.blocking) return void client.destroy();
        if (isListener) {
          blocker.listeners.add(client);
          client.on('close', () => blocker.listeners.delete(client));
        }
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        blocker.sockets.add(upstream);
        upstream.on('close', () => {
          blocker.sockets.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.write(head);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      };
      client.on('data', onData);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const relayed = new URL(databaseUrl);
    relayed.hostname = '127.0.0.1';
    relayed.port = String((server.address() as net.AddressInfo).port);
    blocker = new ListenBlocker(server, relayed.toString());
    return blocker;
  }

  /** Cuts the LISTEN connections now and refuses new ones until unblock(). */
  block(): void {
    this.blocking = true;
    for (const s of this.listeners) s.destroy();
  }

  unblock(): void {
    this.blocking = false;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
