/** Secrets at rest: the master keyring (AES-256-GCM), what binds a value to its row, re-encryption and rotation. */
export {
  Keyring,
  isEncrypted,
  keyIdOf,
  keyIdFor,
  generateMasterKey,
  type SecretBox,
  type KeyringOptions,
} from './keyring.js';
export { configVarAad, releaseConfigAad } from './aad.js';
export { reencryptAll, rotateMasterKey, keyIdsInUse, type RotationResult } from './rotate.js';
