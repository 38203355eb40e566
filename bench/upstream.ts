/**
 * Hello-world upstream for the proxy benchmark. Runs in its own process so it never
 * shares an event loop with the proxy under test. Prints `listening PORT`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const body = Buffer.from('hello world\n');
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
