/**
 * Helpers of the runtime contract suite, shared with backend-specific tests:
 * a tiny stdlib Python web app, an HTTP probe and a poller.
 */
import { request } from 'node:http';

export const SERVER_PY = `
import http.server, json, os, signal, sys, time
port = int(os.environ['PORT'])
# pids repeat across pid namespaces: a random id tells process instances apart.
instance = os.urandom(8).hex()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/die':
            os.kill(os.getpid(), signal.SIGKILL)
        body = json.dumps({'instance': instance, 'pid': os.getpid(), 'uid': os.getuid(), 'greeting': os.environ.get('GREETING'),
                           'port': port}).encode()
        self.send_response(200)
        self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
def on_term(signum, frame):
    time.sleep(0.3)  # a little cleanup work: the runtime must wait for it
    with open('/data/terminated-' + instance, 'w') as f:
        f.write('SIGTERM')
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
print('listening on %d' % port, flush=True)
http.server.HTTPServer(('127.0.0.1', port), H).serve_forever()
`;

export interface HttpReply {
  status: number;
  body: string;
}

/** GET without connection reuse, so a stopped server is noticed at once. */
export function httpGet(host: string, port: number, path = '/', timeoutMs = 2000): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

export interface AppInfo {
  instance: string;
  pid: number;
  uid: number;
  greeting: string | null;
  port: number;
}
