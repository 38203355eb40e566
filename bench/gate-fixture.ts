/**
 * The auth setup shared by the gated benchmark targets (Gantry's router + gate, and the
 * Node auth endpoint behind nginx `auth_request`): one user with a session, app `hello`
 * restricted to a group the user is in, identity tokens signed with a key in `dataDir`.
 */
import { createGate, IdentitySigner, type RouterGate } from '../src/gate/index.js';
import { MemoryDirectory } from '../src/gate/memory-directory.js';
import { SESSION_COOKIE } from '../src/identity/cookies.js';

/** A session cookie value as long as a real one (32 random bytes, base64url). */
export const BENCH_SESSION = 'Qm9uam91ciBsZSBtb25kZSwgYmVuY2htYXJrIHRpbWU';
export const BENCH_COOKIE = `${SESSION_COOKIE}=${BENCH_SESSION}`;

export async function benchGate(dataDir: string): Promise<RouterGate> {
  const dir = new MemoryDirectory();
  dir.addUser({ username: 'alice', email: 'alice@example.com', role: 'viewer', groups: ['analysts', 'eng'] });
  dir.addUser({ username: 'bob', role: 'developer' });
  dir.addSession('alice', BENCH_SESSION);
  dir.setApp({
    app: 'hello',
    owner: 'bob',
    visibility: 'restricted',
    viewers: [
      { kind: 'user', name: 'carol' },
      { kind: 'group', name: 'eng' },
    ],
  });
  const signer = await IdentitySigner.load({ dataDir, publicUrl: 'http://127.0.0.1:8080' });
  return createGate({ directory: dir, cookieName: SESSION_COOKIE, signer });
}
