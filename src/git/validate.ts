/**
 * Pure validators for everything a pusher controls: app names in URLs, ref
 * names and SHAs. They run before any value can reach a git argv.
 */
import { GantryError } from '../errors/index.js';
import { validateAppName } from '../apps/index.js';

export const SHA_RE = /^[0-9a-f]{40}$/;
export const ZERO_SHA = '0'.repeat(40);
/** Branches that deploy. Pushing anything else is refused. */
export const DEPLOY_REFS: readonly string[] = ['refs/heads/main', 'refs/heads/master'];

export function validateSha(sha: string): void {
  if (!SHA_RE.test(sha))
    throw new GantryError('GANTRY_INVALID_REF', 'not a commit id (40 hex digits expected)');
}

/**
 * Ref names by the rules of `git check-ref-format` (full names, so at least
 * one slash), plus: no leading dash, printable ASCII only, bounded length.
 */
export function validateRef(ref: string): void {
  const bad = (why: string): never => {
    throw new GantryError('GANTRY_INVALID_REF', `invalid ref name: ${why}`);
  };
  if (ref.length === 0 || ref.length > 255) bad('empty or too long');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f-\uffff~^:?*[\\]/.test(ref)) bad('contains a forbidden character');
  if (ref.startsWith('-')) bad('starts with a dash');
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) bad('empty path component');
  if (!ref.includes('/')) bad('must be a full ref such as refs/heads/main');
  if (ref.includes('..')) bad('contains ".."');
  if (ref.includes('@{') || ref === '@') bad('contains "@{"');
  if (ref.endsWith('.')) bad('ends with "."');
  for (const part of ref.split('/')) {
    if (part.startsWith('.')) bad('a component starts with "."');
    if (part.endsWith('.lock')) bad('a component ends with ".lock"');
  }
}

export function isDeployRef(ref: string): boolean {
  return DEPLOY_REFS.includes(ref);
}

export type GitService = 'git-receive-pack' | 'git-upload-pack';
export type GitEndpoint = 'info/refs' | GitService;

export interface GitRequestPath {
  app: string;
  endpoint: GitEndpoint;
}

/**
 * Parses the raw request path, without URL normalisation (`..` segments must
 * not silently map to another app). Returns undefined for paths outside /git/;
 * throws GantryError for unknown endpoints (404) and invalid app names (400).
 */
export function parseGitPath(rawUrl: string): GitRequestPath | undefined {
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (path !== '/git' && !path.startsWith('/git/')) return undefined;
  const m = /^\/git\/([^/]*)\/(info\/refs|git-receive-pack|git-upload-pack)$/.exec(path);
  if (!m) throw new GantryError('GANTRY_NOT_FOUND', 'not a git endpoint: use http://HOST/git/APP.git');
  const app = m[1]!.endsWith('.git') ? m[1]!.slice(0, -4) : m[1]!;
  validateAppName(app);
  return { app, endpoint: m[2] as GitEndpoint };
}

/** The `service` query parameter of info/refs, strictly one of the two smart services. */
export function parseService(rawUrl: string): GitService {
  const q = rawUrl.indexOf('?');
  const params = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1));
  const s = params.get('service');
  if (s === 'git-receive-pack' || s === 'git-upload-pack') return s;
  throw new GantryError(
    'GANTRY_BAD_REQUEST',
    'only the smart HTTP protocol is supported (git 1.6.6 or later)',
  );
}

/** Accepts only well-formed `Git-Protocol` header values (e.g. `version=2`). */
export function parseGitProtocol(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  return /^[a-z0-9]+=[a-z0-9]+(:[a-z0-9]+=[a-z0-9]+)*$/i.test(header) && header.length < 100
    ? header
    : undefined;
}

/** Decodes an HTTP basic Authorization header. */
export function parseBasicAuth(
  header: string | undefined,
): { username: string; password: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i <= 0) return undefined;
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}
