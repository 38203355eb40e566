/**
 * The auth endpoint behind nginx `auth_request` (the baseline architecture): nginx asks
 * it about every request, with the original headers and `X-Original-URI`. It decides
 * with the same gate as Gantry's router and answers 200 with the identity headers
 * (which nginx copies upstream), 401 or 404. Prints `listening PORT`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { matchTarget } from '../src/router/index.js';
import { benchGate } from './gate-fixture.js';

const dataDir = process.env.GATE_DATA_DIR;
if (!dataDir) throw new Error('GATE_DATA_DIR is required');
const gate = await benchGate(dataDir);

const server = http.createServer((req, res) => {
  const uri = req.headers['x-original-uri'];
  const t = typeof uri === 'string' ? matchTarget(uri) : undefined;
  if (t === undefined || t.kind !== 'app') {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return;
  }
  const v = gate.check(t.app, req);
  if (v.kind !== 'allow') {
    res.writeHead(v.kind === 'hidden' ? 404 : 401, { 'content-length': 0 });
    res.end();
    return;
  }
  const headers: string[] = ['content-length', '0'];
  if (v.headers) headers.push(...v.headers);
  res.writeHead(200, headers);
  res.end();
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
