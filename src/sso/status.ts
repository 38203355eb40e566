/**
 * What administrators see of each SSO provider (GET /api/admin/sso): sign-in
 * counters since the server started and a health status, from active checks
 * (POST /api/admin/sso/:name/check) and from the outcome of real sign-ins.
 *
 * Status rule: the most recent evidence wins. An active check sets 'ok' or
 * 'error'; a successful sign-in sets 'ok'; a failed sign-in that was the
 * provider's fault (unreachable, misconfigured) sets 'error'. A user's own
 * mistake (wrong password, cancelled sign-in) counts as a failure but leaves
 * the status alone. Nothing yet: 'unknown'. Kept in memory only.
 */
import { GantryError, isGantryError } from '../errors/index.js';
import type { Role } from '../identity/types.js';
import type { Logger } from '../log/index.js';
import type { LoginObserver, Provider } from './types.js';

/** One provider as administrators see it. src/api/types.ts declares the same shape. */
export interface SsoStatus {
  name: string;
  type: 'oidc' | 'saml' | 'ldap';
  label: string;
  defaultRole: Role;
  status: 'ok' | 'error' | 'unknown';
  /** What was checked (or what happened last), or the last error. */
  detail: string;
  /** ISO time of the last active check; null when never checked. */
  checkedAt: string | null;
  logins: number;
  failures: number;
  lastLoginAt: string | null;
  lastFailureAt: string | null;
  /** Message of the last failed sign-in (whoever was to blame); null when none. */
  lastError: string | null;
}

export interface SsoStatusTrackerOptions {
  /** Every configured provider, in configured order (list() keeps it). */
  providers: readonly Provider[];
  /** Clock in ms since the epoch (default Date.now). */
  now?: () => number;
  logger?: Logger;
  /** Longest an active check may take (default 5 s). */
  checkTimeoutMs?: number;
}

const MAX_TEXT = 500;
const NOTHING_YET = 'not checked yet; no sign-ins since the server started';

interface Entry {
  readonly provider: Provider;
  state: Omit<SsoStatus, 'name' | 'type' | 'label' | 'defaultRole'>;
  /** The check in progress: a second request for the same provider waits for it. */
  running?: Promise<SsoStatus>;
}

export class SsoStatusTracker implements LoginObserver {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #timeoutMs: number;

  constructor(opts: SsoStatusTrackerOptions) {
    this.#now = opts.now ?? Date.now;
    this.#logger = opts.logger;
    this.#timeoutMs = opts.checkTimeoutMs ?? 5000;
    for (const provider of opts.providers) {
      this.#entries.set(provider.name, {
        provider,
        state: {
          status: 'unknown',
          detail: NOTHING_YET,
          checkedAt: null,
          logins: 0,
          failures: 0,
          lastLoginAt: null,
          lastFailureAt: null,
          lastError: null,
        },
      });
    }
  }

  /** Every provider, in configured order. */
  list(): SsoStatus[] {
    return [...this.#entries.values()].map((e) => view(e));
  }

  /**
   * Runs the provider's active check (bounded by the timeout) and records its
   * outcome. Resolves with the new status either way: a failed check is an
   * 'error' status, not a rejection. Throws GANTRY_NOT_FOUND for an unknown name
   * and GANTRY_UNSUPPORTED for a provider without a check.
   */
  check(name: string): Promise<SsoStatus> {
    const entry = this.#entries.get(name);
    if (entry === undefined)
      return Promise.reject(
        new GantryError('GANTRY_NOT_FOUND', `no sign-in provider is named "${name}"; see GET /api/admin/sso`),
      );
    entry.running ??= this.#runCheck(entry).finally(() => {
      entry.running = undefined;
    });
    return entry.running;
  }

  loginSucceeded(name: string): void {
    const entry = this.#entries.get(name);
    if (entry === undefined) return;
    const at = this.#iso();
    entry.state.logins += 1;
    entry.state.lastLoginAt = at;
    entry.state.status = 'ok';
    entry.state.detail = `a sign-in succeeded at ${at}`;
  }

  loginFailed(name: string, error: string, opts?: { providerFault: boolean }): void {
    // Unknown names come from URLs anyone can type: not worth remembering.
    const entry = this.#entries.get(name);
    if (entry === undefined) return;
    const text = clip(error);
    entry.state.failures += 1;
    entry.state.lastFailureAt = this.#iso();
    entry.state.lastError = text;
    if (opts?.providerFault ?? true) {
      entry.state.status = 'error';
      entry.state.detail = text;
    }
  }

  async #runCheck(entry: Entry): Promise<SsoStatus> {
    const p = entry.provider;
    if (p.check === undefined)
      throw new GantryError('GANTRY_UNSUPPORTED', `provider "${p.name}" (${p.type}) has no active check`);
    let outcome: { status: 'ok' | 'error'; detail: string };
    try {
      const detail = await withTimeout(
        p.check(),
        this.#timeoutMs,
        `no answer from "${p.label}" within ${this.#timeoutMs / 1000} s; check that it is reachable from this server`,
      );
      outcome = { status: 'ok', detail: clip(detail) };
    } catch (e) {
      const message = isGantryError(e) ? e.message : `the check failed unexpectedly: ${String(e)}`;
      this.#logger?.warn({ err: e, provider: p.name }, 'sso: provider check failed');
      outcome = { status: 'error', detail: clip(message) };
    }
    entry.state.status = outcome.status;
    entry.state.detail = outcome.detail;
    entry.state.checkedAt = this.#iso();
    return view(entry);
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }
}

function view(e: Entry): SsoStatus {
  const p = e.provider;
  return { name: p.name, type: p.type, label: p.label, defaultRole: p.defaultRole, ...e.state };
}

function clip(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s;
}

/** Rejects with GANTRY_INTERNAL `message` when `p` takes longer than `ms` (p itself is left to finish). */
async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new GantryError('GANTRY_INTERNAL', message)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
