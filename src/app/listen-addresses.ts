import net from 'node:net';
import { ConfigError } from '../errors/config-error';

/** A listen failure in the operator's terms: which option, what is wrong, what to do. */
export function listenError(option: string, host: string, port: number, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(
        `${option} ${address}: the port is in use (another broker, or \`npm start\`?); stop it or choose another port`,
      );
    case 'EADDRNOTAVAIL':
      return new ConfigError(`${option} ${address}: this machine has no address ${host}; use one of its own, or 0.0.0.0 for all`);
    case 'EACCES':
      return new ConfigError(`${option} ${address}: binding this port needs privileges (ports below 1024); use a higher port`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(`${option} ${address}: the host name ${host} does not resolve`);
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * Binds each address for a moment, before the broker touches its store: a port in use or an
 * address the machine does not have is one line naming the option, and no migration has run.
 */
export async function checkListenAddresses(addresses: { option: string; host: string; port: number }[]): Promise<void> {
  for (const { option, host, port } of addresses) {
    if (port === 0) continue; // any free port: nothing can clash
    await new Promise<void>((resolve, reject) => {
      const probe = net.createServer();
      probe.once('error', (err) => reject(listenError(option, host, port, err)));
      probe.listen(port, host, () => probe.close(() => resolve()));
    });
  }
}
