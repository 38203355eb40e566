/**
 * Header rewriting between client and app: hop-by-hop headers are removed (RFC 9110
 * §7.6.1), the X-Forwarded-* family is rebuilt, Gantry's own credentials are taken out
 * and the identity headers are Gantry's alone. Pure functions over Node's flat
 * `rawHeaders` array so the hot path never materialises `req.headers`.
 */
import { gantryBearer, sameToken } from '../gate/gate.js';
import { SECURE_SESSION_COOKIE, SESSION_COOKIE, withoutCookie } from '../identity/cookies.js';
import { AFFINITY_COOKIE } from './affinity.js';

/** What happens to an incoming request header of this (lower-case) name. */
const enum Kind {
  Keep = 0,
  /** Hop-by-hop or refused by undici: never forwarded. */
  Drop = 1,
  /** Forwarding header the router rebuilds. */
  Forwarded = 2,
  Connection = 3,
  Upgrade = 4,
  /** Gantry's session cookie is removed from it. */
  Cookie = 5,
  /** Dropped when it carries a Gantry API token (`Bearer gty_…`). */
  Authorization = 6,
}

const KIND = new Map<string, Kind>([
  ['connection', Kind.Connection],
  ['upgrade', Kind.Upgrade],
  ['keep-alive', Kind.Drop],
  ['proxy-connection', Kind.Drop],
  ['proxy-authorization', Kind.Drop],
  ['proxy-authenticate', Kind.Drop],
  ['te', Kind.Drop],
  ['trailer', Kind.Drop],
  ['transfer-encoding', Kind.Drop],
  // Node answers `Expect: 100-continue` itself before the request reaches the router.
  ['expect', Kind.Drop],
  ['x-forwarded-for', Kind.Forwarded],
  ['x-forwarded-proto', Kind.Forwarded],
  ['x-forwarded-host', Kind.Forwarded],
  ['x-forwarded-prefix', Kind.Forwarded],
  ['x-forwarded-port', Kind.Forwarded],
  ['x-real-ip', Kind.Forwarded],
  ['forwarded', Kind.Forwarded],
  ['cookie', Kind.Cookie],
  ['authorization', Kind.Authorization],
  // Identity is Gantry's to assert: whatever a client sends under these names is dropped.
  ['gantry-identity', Kind.Drop],
]);

/** First letters (lower-cased) of the names in KIND and the dropped prefixes: other names are kept at once. */
const SPECIAL_INITIAL = new Uint8Array(128);
for (const c of 'acefgkptux') SPECIAL_INITIAL[c.charCodeAt(0)] = 1;

function kindOf(lower: string): Kind {
  const k = KIND.get(lower);
  if (k !== undefined) return k;
  return lower.startsWith('proxy-') || lower.startsWith('x-gantry-') ? Kind.Drop : Kind.Keep;
}

/** The Cookie header value to forward: without Gantry's session cookies (either name) and its affinity cookie. */
function forwardedCookie(value: string, extra: string | undefined): string | undefined {
  let v: string | undefined = value;
  // Both standard names contain "gantry_session": one search settles the common case.
  if (v.indexOf(SESSION_COOKIE) !== -1) {
    v = withoutCookie(v, SESSION_COOKIE);
    if (v !== undefined) v = withoutCookie(v, SECURE_SESSION_COOKIE);
  }
  if (v !== undefined && extra !== undefined) v = withoutCookie(v, extra);
  if (v !== undefined) v = withoutCookie(v, AFFINITY_COOKIE);
  return v;
}

/** Connection-option tokens other than the standard ones, lower-cased; undefined when none. */
function extraConnectionTokens(value: string): string[] | undefined {
  if (value.indexOf(',') === -1) {
    // The common case ("keep-alive", "close", "Upgrade"): no split, no array.
    const t = value.trim().toLowerCase();
    return t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade' ? undefined : [t];
  }
  let out: string[] | undefined;
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade') continue;
    (out ??= []).push(t);
  }
  return out;
}

export interface ForwardContext {
  /** Client socket address (`req.socket.remoteAddress`). */
  clientAddr: string;
  /** True when the client connection is TLS. */
  encrypted: boolean;
  /** `/apps/NAME`. */
  prefix: string;
  /** Trust X-Forwarded-* sent by the client (Gantry runs behind another proxy). */
  trustProxy: boolean;
  /** WebSocket upgrade: keep `Connection: Upgrade` and `Upgrade`. */
  upgrade?: boolean;
  /**
   * A session cookie name to remove besides the standard two (`gantry_session`,
   * `__Host-gantry_session`, always removed): the gate's `cookieName`.
   */
  sessionCookie?: string;
  /** Identity headers from the gate (flat `[name, value, …]`), appended last. */
  identity?: readonly string[];
}

/**
 * Builds the upstream request headers as a flat `[name, value, …]` list (the form undici
 * and raw HTTP heads both take). The Host header is kept: apps build absolute URLs from
 * it, and X-Forwarded-Host says the same.
 *
 * Without `trustProxy`, client-sent forwarding headers are discarded and replaced: a
 * client could otherwise claim any address or scheme. With it, the client address is
 * appended to X-Forwarded-For and incoming Proto/Host are kept.
 *
 * Always, trusted proxy or not: client-sent `X-Gantry-*` and `Gantry-Identity` are
 * dropped, Gantry's session and affinity cookies are cut out of every Cookie header, and an
 * `Authorization: Bearer gty_…` (a Gantry API token) is dropped; any other Authorization
 * is the app's and passes.
 */
export function buildUpstreamHeaders(raw: readonly string[], ctx: ForwardContext): string[] {
  const out: string[] = [];
  let host: string | undefined;
  let xff: string | undefined;
  let xfProto: string | undefined;
  let xfHost: string | undefined;
  let upgrade: string | undefined;
  let extra: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const kind = SPECIAL_INITIAL[name.charCodeAt(0) | 0x20] === 1 ? kindOf(name.toLowerCase()) : Kind.Keep;
    if (kind === Kind.Keep) {
      if (name.length === 4 && sameToken(name, 'host')) host = value;
      out.push(name, value);
    } else if (kind === Kind.Connection) {
      const t = extraConnectionTokens(value);
      if (t) extra = extra ? extra.concat(t) : t;
    } else if (kind === Kind.Cookie) {
      const v = forwardedCookie(value, ctx.sessionCookie);
      if (v !== undefined) out.push(name, v);
    } else if (kind === Kind.Authorization) {
      if (gantryBearer(value) === undefined) out.push(name, value);
    } else if (kind === Kind.Upgrade) {
      upgrade = value;
    } else if (kind === Kind.Forwarded && ctx.trustProxy) {
      const lower = name.toLowerCase();
      if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
      else if (lower === 'x-forwarded-proto') xfProto ??= value;
      else if (lower === 'x-forwarded-host') xfHost ??= value;
      else out.push(name, value); // forwarded, x-real-ip, x-forwarded-port: pass along
    }
  }
  const headers = extra ? dropNamed(out, extra) : out;
  const addr = ctx.clientAddr;
  headers.push('x-forwarded-for', xff === undefined ? addr : `${xff}, ${addr}`);
  headers.push('x-forwarded-proto', xfProto ?? (ctx.encrypted ? 'https' : 'http'));
  const fHost = xfHost ?? host;
  if (fHost !== undefined) headers.push('x-forwarded-host', fHost);
  headers.push('x-forwarded-prefix', ctx.prefix);
  if (ctx.upgrade && upgrade !== undefined) headers.push('connection', 'Upgrade', 'upgrade', upgrade);
  const id = ctx.identity;
  if (id !== undefined) for (let i = 0; i < id.length; i++) headers.push(id[i]!);
  return headers;
}

/** Removes headers named by the client's Connection header (they are hop-by-hop too). */
function dropNamed(flat: string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (!names.includes(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
  }
  return out;
}

/**
 * 0 for an end-to-end response header, 1 for a hop-by-hop one, 2 for Connection. By
 * length first: the common headers (Content-Type, Date, …) are settled without a string
 * being built or hashed.
 */
function responseHop(name: string): 0 | 1 | 2 {
  switch (name.length) {
    case 2:
      return sameToken(name, 'te') ? 1 : 0;
    case 7:
      return sameToken(name, 'trailer') || sameToken(name, 'upgrade') ? 1 : 0;
    case 10:
      if (sameToken(name, 'connection')) return 2;
      return sameToken(name, 'keep-alive') ? 1 : 0;
    case 16:
      return sameToken(name, 'proxy-connection') ? 1 : 0;
    case 17:
      return sameToken(name, 'transfer-encoding') ? 1 : 0;
    case 18:
      return sameToken(name, 'proxy-authenticate') ? 1 : 0;
    default:
      return 0;
  }
}

/**
 * Upstream response headers (the parser's raw `[name, value, …]` strings) as a flat list
 * for `res.writeHead`, without hop-by-hop headers and those the upstream's Connection
 * header names. Repeated headers (Set-Cookie) stay separate lines. Node re-frames the
 * body itself (chunked or Content-Length).
 */
export function responseHeaderPairs(raw: readonly string[]): string[] {
  const out: string[] = [];
  let extra: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const hop = responseHop(raw[i]!);
    if (hop === 0) {
      out.push(raw[i]!, raw[i + 1]!);
    } else if (hop === 2) {
      const t = extraConnectionTokens(raw[i + 1]!);
      if (t) extra = extra ? extra.concat(t) : t;
    }
  }
  return extra ? dropNamed(out, extra) : out;
}

/** Serialises a request head for a raw socket (WebSocket upgrade). Values were validated by Node's parser. */
export function serializeRequestHead(method: string, url: string, flat: readonly string[]): string {
  let s = `${method} ${url} HTTP/1.1\r\n`;
  for (let i = 0; i < flat.length; i += 2) s += `${flat[i]}: ${flat[i + 1]}\r\n`;
  return s + '\r\n';
}
