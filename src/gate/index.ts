/**
 * The auth gate in front of `/apps/NAME/`: who may open which app, decided in memory
 * per request, and the signed identity handed to apps.
 *
 * Wiring (server.ts): `IdentitySigner.load(...)` once, `createGate({ directory, cookieName,
 * signer })`, pass the gate to `createRouter({ gate })`, call `gate.invalidate()` from
 * `directory.onChange`, and serve `signer.jwks()` at `/.well-known/jwks.json`.
 */
export {
  createGate,
  gantryBearer,
  type AllowVerdict,
  type GateOptions,
  type GateVerdict,
  type RouterGate,
} from './gate.js';
export {
  IdentitySigner,
  jwkThumbprint,
  type IdentityClaims,
  type Jwks,
  type PublicJwk,
  type SignerOptions,
} from './jwt.js';
