/**
 * Header rewriting between client and app: hop-by-hop headers are removed (RFC 9110
 * §7.6.1), the X-Forwarded-* family is rebuilt. Pure functions over Node's flat
 * `rawHeaders` array so the hot path never materialises `req.headers`.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** What happens to an incoming request header of this (lower-case) name. */
const enum Kind {
  Keep = 0,
  /** Hop-by-hop or refused by undici: never forwarded. */
  Drop = 1,
  /** Forwarding header the router rebuilds. */
  Forwarded = 2,
  Connection = 3,
  Upgrade = 4,
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
]);

function kindOf(lower: string): Kind {
  const k = KIND.get(lower);
  if (k !== undefined) return k;
  return lower.startsWith('proxy-') ? Kind.Drop : Kind.Keep;
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
}

/**
 * Builds the upstream request headers as a flat `[name, value, …]` list (the form undici
 * and raw HTTP heads both take). The Host header is kept: apps build absolute URLs from
 * it, and X-Forwarded-Host says the same.
 *
 * Without `trustProxy`, client-sent forwarding headers are discarded and replaced: a
 * client could otherwise claim any address or scheme. With it, the client address is
 * appended to X-Forwarded-For and incoming Proto/Host are kept.
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
    const lower = name.toLowerCase();
    const kind = kindOf(lower);
    if (kind === Kind.Keep) {
      if (lower === 'host') host = value;
      out.push(name, value);
    } else if (kind === Kind.Connection) {
      const t = extraConnectionTokens(value);
      if (t) extra = extra ? extra.concat(t) : t;
    } else if (kind === Kind.Upgrade) {
      upgrade = value;
    } else if (kind === Kind.Forwarded && ctx.trustProxy) {
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

const RESPONSE_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-connection',
  'proxy-authenticate',
  'trailer',
  'upgrade',
  'te',
]);

/**
 * Upstream response headers (parsed, lower-case keys) as a flat `[name, value, …]` list
 * for `res.writeHead`, without hop-by-hop headers. Node re-frames the body itself
 * (chunked or Content-Length). Builds a new list instead of deleting keys: `delete`
 * would push the object into slow dictionary mode.
 */
export function responseHeaderList(h: IncomingHttpHeaders): (string | string[])[] {
  const conn = h.connection;
  const extra =
    conn === undefined ? undefined : extraConnectionTokens(Array.isArray(conn) ? conn.join(',') : conn);
  const out: (string | string[])[] = [];
  for (const name in h) {
    const value = h[name];
    if (value === undefined || RESPONSE_HOP.has(name)) continue;
    if (extra !== undefined && extra.includes(name)) continue;
    out.push(name, value);
  }
  return out;
}

/** Serialises a request head for a raw socket (WebSocket upgrade). Values were validated by Node's parser. */
export function serializeRequestHead(method: string, url: string, flat: readonly string[]): string {
  let s = `${method} ${url} HTTP/1.1\r\n`;
  for (let i = 0; i < flat.length; i += 2) s += `${flat[i]}: ${flat[i + 1]}\r\n`;
  return s + '\r\n';
}
