/**
 * Identity and access: who a caller is (users, groups, tokens, sessions, SSH
 * keys, SSO logins), what an app allows, and the audit log. Import from here.
 */
export * from './types.js';
export * from './policy.js';
export * from './cookies.js';
export { safeNext } from './next.js';
export { SqlDirectory, type SqlDirectoryOptions } from './directory.js';
export { LoginService, type LoginServiceOptions, type PasswordLoginResult } from './login.js';
export { parsePublicKey, fingerprintOf, KEY_TYPES, type ParsedKey, type KeyType } from './sshkey.js';
export { MAX_AUDIT_LIMIT, type AuditFilter } from './audit.js';
export { NAME_PATTERN, isValidName } from './validate.js';
