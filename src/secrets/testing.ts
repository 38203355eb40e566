/** Test helpers: a real keyring with a random key, nothing written to disk. */
import { Keyring, generateMasterKey } from './keyring.js';

/** A fresh keyring with a random master key, for tests that need a SecretBox (e.g. AppRecords). */
export function testKeyring(): Keyring {
  return Keyring.fromKey(generateMasterKey());
}
