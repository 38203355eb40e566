import { mkdir, readFile, writeFile, chmod, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export interface ServerKeys {
  /** 32 random bytes for signing sessions and internal tokens. */
  secret: Buffer;
}

/**
 * Loads the server's keys from DATA/keys, generating them on first start
 * (mode 0600, directory 0700). There is never a hard-coded fallback.
 */
export async function ensureKeys(dataDir: string): Promise<ServerKeys> {
  const dir = join(dataDir, 'keys');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const file = join(dir, 'secret.key');
  let secret: Buffer;
  try {
    secret = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    if ((await stat(file)).mode & 0o077) await chmod(file, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    secret = randomBytes(32);
    await writeFile(file, secret.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return { secret };
}
