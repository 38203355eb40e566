/**
 * The Gantry router in a minimal http.Server, for the proxy benchmark. Routes
 * `/apps/hello/` to UPSTREAM_PORT on 127.0.0.1. Prints `listening PORT`.
 * With GATE_DATA_DIR set, the auth gate is on (see gate-fixture.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../src/log/index.js';
import { createRouter } from '../src/router/index.js';
import { benchGate } from './gate-fixture.js';

const upstreamPort = Number(process.env.UPSTREAM_PORT);
if (!Number.isInteger(upstreamPort) || upstreamPort <= 0) throw new Error('UPSTREAM_PORT is required');
const gateDir = process.env.GATE_DATA_DIR;

const router = createRouter({
  logger: silentLogger,
  gate: gateDir ? await benchGate(gateDir) : undefined,
});
router.setRoute('hello', {
  app: 'hello',
  release: 1,
  backends: [{ id: 'hello.web.1', host: '127.0.0.1', port: upstreamPort }],
});

const server = http.createServer((req, res) => {
  if (!router.handle(req, res)) {
    res.writeHead(404);
    res.end();
  }
});
server.on('upgrade', (req, socket, head: Buffer) => {
  if (!router.handleUpgrade(req, socket, head)) socket.destroy();
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => {
    router.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
});
