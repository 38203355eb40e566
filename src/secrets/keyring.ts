/**
 * The master keyring: AES-256-GCM for config vars at rest.
 *
 * The current key encrypts; previous keys only decrypt, so a rotation can
 * re-encrypt at its own pace. Keys come either from GANTRY_MASTER_KEY (the
 * operator owns them, Gantry never writes them down) or from
 * DATA/keys/master.key, generated on the first start with mode 0600.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { GantryError } from '../errors/index.js';

/** Encrypts and decrypts one value bound to its place (`aad`). What the records layer needs. */
export interface SecretBox {
  /**
   * Returns `gk1:<keyId>:<base64url(iv|ciphertext|tag)>`. `aad` names where the value lives
   * (see aad.ts); the same `aad` must be given to decrypt, so a ciphertext copied to another
   * row does not decrypt.
   */
  encrypt(plaintext: string, aad: string): string;
  /** Inverse of encrypt; throws GANTRY_INTERNAL if the key is missing or the value was altered or moved. */
  decrypt(value: string, aad: string): string;
}

export interface KeyringOptions {
  dataDir: string;
  /** GANTRY_MASTER_KEY: base64 of 32 bytes. Unset → DATA/keys/master.key (generated if missing). */
  masterKey?: string;
  /** GANTRY_PREVIOUS_MASTER_KEYS: older keys still accepted for decryption. */
  previousKeys?: string[];
}

interface Key {
  id: string;
  key: Buffer;
}

interface KeyFile {
  current: { id: string; key: string };
  previous: { id: string; key: string }[];
}

const VERSION = 'gk1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ENCRYPTED = /^gk1:([0-9a-f]{8}):([A-Za-z0-9_-]+)$/;
const GENERATE_HINT = 'generate one with: openssl rand -base64 32';

/** True for values written by `encrypt` (anything else is a plaintext row from before encryption). */
export function isEncrypted(value: string): boolean {
  return ENCRYPTED.test(value);
}

/** The id of the key that encrypted `value`, or undefined for plaintext. */
export function keyIdOf(value: string): string | undefined {
  return ENCRYPTED.exec(value)?.[1];
}

/** First 8 hex digits of sha256(key): names a key in ciphertexts without revealing it. */
export function keyIdFor(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** A new random master key, base64 (the form GANTRY_MASTER_KEY takes). */
export function generateMasterKey(): string {
  return randomBytes(32).toString('base64');
}

/** Parses a base64 key; `what` names it in the error, which never echoes the value. */
function parseKey(value: string, what: string): Key {
  const v = value.trim();
  // Node's base64 decoder also takes the URL-safe alphabet.
  const key = Buffer.from(v, 'base64');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(v) || key.length !== 32) {
    throw new GantryError(
      'GANTRY_INVALID_CONFIG',
      `${what} must be the base64 of exactly 32 random bytes (${GENERATE_HINT})`,
    );
  }
  return { id: keyIdFor(key), key };
}

function toFileKey(k: Key): { id: string; key: string } {
  return { id: k.id, key: k.key.toString('base64') };
}

export class Keyring implements SecretBox {
  #current: Key;
  /** Decrypt-only keys, by id. */
  readonly #previous: Map<string, Key>;
  /** The key file when keys are Gantry's own; undefined when they come from GANTRY_MASTER_KEY. */
  readonly #file: string | undefined;
  /** Ids of keys the operator supplies (GANTRY_PREVIOUS_MASTER_KEYS): never written to the key file. */
  readonly #supplied: Set<string>;

  private constructor(current: Key, previous: Key[], file: string | undefined, supplied: Key[] = []) {
    this.#current = current;
    this.#previous = new Map(
      [...previous, ...supplied].filter((k) => k.id !== current.id).map((k) => [k.id, k]),
    );
    this.#file = file;
    const own = new Set([current.id, ...previous.map((k) => k.id)]);
    this.#supplied = new Set(supplied.map((k) => k.id).filter((id) => !own.has(id)));
  }

  /** Previous keys that belong in the key file. */
  #storedPrevious(): Key[] {
    return [...this.#previous.values()].filter((k) => !this.#supplied.has(k.id));
  }

  /**
   * Opens the keyring. With `masterKey`, that key encrypts and `previousKeys` plus any keys
   * in an existing DATA/keys/master.key decrypt (so switching an install to GANTRY_MASTER_KEY
   * keeps its config vars readable until they are re-encrypted). Without it, the key file is
   * loaded, or created atomically with mode 0600 on the first start.
   */
  static async open(opts: KeyringOptions): Promise<Keyring> {
    const previous = (opts.previousKeys ?? []).map((k, i) =>
      parseKey(k, `GANTRY_PREVIOUS_MASTER_KEYS entry ${i + 1}`),
    );
    const file = join(opts.dataDir, 'keys', 'master.key');
    if (opts.masterKey !== undefined) {
      const current = parseKey(opts.masterKey, 'GANTRY_MASTER_KEY');
      const stored = await readKeyFile(file);
      const fromFile = stored ? [stored.current, ...stored.previous] : [];
      return new Keyring(current, [...previous, ...fromFile], undefined);
    }
    let stored = await readKeyFile(file);
    if (!stored) {
      await mkdir(join(opts.dataDir, 'keys'), { recursive: true, mode: 0o700 });
      await chmod(join(opts.dataDir, 'keys'), 0o700);
      const fresh = parseKey(generateMasterKey(), 'generated key');
      // link() refuses to replace a file, so two first starts racing agree on one key.
      if (await writeKeyFile(file, { current: fresh, previous: [] }, 'create'))
        stored = { current: fresh, previous: [] };
      else stored = await readKeyFile(file);
      if (!stored) throw new GantryError('GANTRY_INTERNAL', `cannot create the master key file ${file}`);
    }
    return new Keyring(stored.current, stored.previous, file, previous);
  }

  /**
   * An in-memory keyring around one key (no file is read or written). For tests and tools;
   * the server uses `open`.
   */
  static fromKey(masterKey: string, previousKeys: string[] = []): Keyring {
    return new Keyring(
      parseKey(masterKey, 'master key'),
      previousKeys.map((k, i) => parseKey(k, `previous key ${i + 1}`)),
      undefined,
    );
  }

  /** Id of the key new values are encrypted with. */
  get currentKeyId(): string {
    return this.#current.id;
  }

  /** Ids of the decrypt-only keys. */
  get previousKeyIds(): string[] {
    return [...this.#previous.keys()];
  }

  /** `file`: Gantry generated and stores the keys; `env`: they come from GANTRY_MASTER_KEY. */
  get source(): 'file' | 'env' {
    return this.#file === undefined ? 'env' : 'file';
  }

  encrypt(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}:${this.#current.id}:${body.toString('base64url')}`;
  }

  decrypt(value: string, aad: string): string {
    const m = ENCRYPTED.exec(value);
    if (!m) throw new GantryError('GANTRY_INTERNAL', `${aad} is not an encrypted value (expected gk1:…)`);
    const id = m[1]!;
    const key = id === this.#current.id ? this.#current : this.#previous.get(id);
    if (!key) {
      throw new GantryError(
        'GANTRY_INTERNAL',
        `config var encrypted with key ${id} which is not available: set GANTRY_PREVIOUS_MASTER_KEYS ` +
          `to the master key it was encrypted with (current key is ${this.#current.id}), restart, ` +
          `and Gantry re-encrypts it under the current key`,
      );
    }
    const body = Buffer.from(m[2]!, 'base64url');
    if (body.length < IV_BYTES + TAG_BYTES) throw tampered(aad, id);
    const decipher = createDecipheriv('aes-256-gcm', key.key, body.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch (e) {
      throw tampered(aad, id, e);
    }
  }

  /**
   * Makes a new current key; the old one becomes decrypt-only. Only for keys Gantry stores:
   * the file is replaced atomically before the keyring switches, so a crash leaves either the
   * old or the new key file, never a half-written one. Returns the new key id.
   */
  async rotate(): Promise<string> {
    if (this.#file === undefined) {
      throw new GantryError(
        'GANTRY_CONFLICT',
        'the master key comes from GANTRY_MASTER_KEY, so Gantry cannot replace it: set ' +
          `GANTRY_MASTER_KEY to a new key (${GENERATE_HINT}), set GANTRY_PREVIOUS_MASTER_KEYS to the old ` +
          'one, restart, then run the rotation again to re-encrypt every config var under the new key',
      );
    }
    const next = parseKey(generateMasterKey(), 'generated key');
    const previous = [this.#current, ...this.#storedPrevious()];
    await writeKeyFile(this.#file, { current: next, previous }, 'replace');
    this.#previous.set(this.#current.id, this.#current);
    this.#current = next;
    return next.id;
  }

  /**
   * Forgets previous keys that `inUse` does not list (removes them from the key file too).
   * Returns the dropped ids. Keys given through GANTRY_PREVIOUS_MASTER_KEYS are the operator's
   * to remove; for them this only forgets them in memory.
   */
  async dropPreviousKeys(inUse: ReadonlySet<string>): Promise<string[]> {
    const dropped = [...this.#previous.keys()].filter((id) => !inUse.has(id));
    if (dropped.length === 0) return [];
    const kept = this.#storedPrevious().filter((k) => inUse.has(k.id));
    if (this.#file !== undefined) {
      await writeKeyFile(this.#file, { current: this.#current, previous: kept }, 'replace');
    }
    for (const id of dropped) this.#previous.delete(id);
    return dropped;
  }
}

function tampered(aad: string, id: string, cause?: unknown): GantryError {
  return new GantryError(
    'GANTRY_INTERNAL',
    `${aad} could not be decrypted with key ${id}: the stored value was altered or copied from ` +
      'another row (authentication failed); set it again',
    { cause },
  );
}

async function readKeyFile(file: string): Promise<{ current: Key; previous: Key[] } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if ((await stat(file)).mode & 0o077) await chmod(file, 0o600);
  const bad = (why: string): GantryError =>
    new GantryError(
      'GANTRY_INVALID_CONFIG',
      `master key file ${file} is damaged (${why}); restore it from backup`,
    );
  let parsed: KeyFile;
  try {
    parsed = JSON.parse(text) as KeyFile;
  } catch {
    throw bad('not JSON');
  }
  if (!parsed || typeof parsed.current?.key !== 'string' || !Array.isArray(parsed.previous)) {
    throw bad('expected { current: { id, key }, previous: [...] }');
  }
  const load = (k: { id: string; key: string }, what: string): Key => {
    const key = parseKey(String(k.key), `${what} in ${file}`);
    if (k.id !== key.id) throw bad(`${what} has id ${k.id} but its key hashes to ${key.id}`);
    return key;
  };
  return {
    current: load(parsed.current, 'current key'),
    previous: parsed.previous.map((k, i) => load(k, `previous key ${i + 1}`)),
  };
}

/**
 * Writes the key file through a 0600 temp file, fsynced, then moved into place: `create`
 * links it (fails if the file exists → returns false), `replace` renames over the old one.
 */
async function writeKeyFile(
  file: string,
  keys: { current: Key; previous: Key[] },
  how: 'create' | 'replace',
): Promise<boolean> {
  const body: KeyFile = { current: toFileKey(keys.current), previous: keys.previous.map(toFileKey) };
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(JSON.stringify(body, null, 2) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  let placed = true;
  try {
    if (how === 'replace') await rename(tmp, file);
    else await link(tmp, file);
  } catch (e) {
    if (how !== 'create' || (e as NodeJS.ErrnoException).code !== 'EEXIST') {
      await unlink(tmp);
      throw e;
    }
    placed = false;
  }
  if (how === 'create') await unlink(tmp);
  const dir = await open(join(file, '..'), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return placed;
}
