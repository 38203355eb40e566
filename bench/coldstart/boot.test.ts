import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, timeBoot, type Launch } from './boot.js';

const SERVER = `
import os, time
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers(); self.wfile.write(b"hi\\n")
time.sleep(0.15)
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`;

const launch = (code: string, port: number): Launch => ({
  file: '/usr/bin/python3',
  args: ['-c', code],
  env: { PATH: '/usr/bin:/bin', PORT: String(port) },
});

test('times exec to listening and to the first byte, and stops the process', async () => {
  const port = await freePort();
  const b = await timeBoot(launch(SERVER, port), port, '/', 'hi');
  assert.ok(b.listenMs >= 150, `listened after ${b.listenMs} ms, before its 150 ms sleep ended`);
  assert.ok(b.listenMs < 10_000);
  assert.ok(b.firstByteMs > b.listenMs);
  const again = await timeBoot(launch(SERVER, port), port, '/', 'hi');
  assert.ok(again.listenMs >= 150, 'the first run was stopped: the port was free again');
});

test('a process that exits before listening fails with its output', async () => {
  const port = await freePort();
  await assert.rejects(
    timeBoot(launch('import sys; print("boom"); sys.exit(3)', port), port, '/', 'hi'),
    /exited \(3\) before listening:\nboom/,
  );
});

test('an unexpected answer fails', async () => {
  const port = await freePort();
  await assert.rejects(timeBoot(launch(SERVER, port), port, '/', 'hello'), /answered 200: hi/);
});
