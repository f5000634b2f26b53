// The baseline: a minimal Node https server with the broker's TLS options and certificates,
// answering a tiny body. Started as its own process: node dist/bench/bare-server.js CA CERT KEY
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

const [ca, cert, key] = process.argv.slice(2).map((f) => fs.readFileSync(f, 'utf8'));
const server = https.createServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('ok\n');
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
