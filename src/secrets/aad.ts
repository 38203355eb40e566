/**
 * Associated data that binds each ciphertext to the row it belongs to, so a value copied to
 * another app, key or release fails to decrypt. The records layer and re-encryption must agree.
 */

/** A config var's value: `config:<appId>:<key>` (app ids are UUIDs, so the split is unambiguous). */
export const configVarAad = (appId: string, key: string): string => `config:${appId}:${key}`;

/** A release's config snapshot (JSON of all vars): `release:<releaseId>`. */
export const releaseConfigAad = (releaseId: string): string => `release:${releaseId}`;
