import type { RuntimeEvent } from '../runtime/types.js';

/** What `describeRuntimeEvent` hands to `EventLog.record`. */
export interface DescribedEvent {
  kind: 'start' | 'stop' | 'crash' | 'oom' | 'restart';
  /** Full process name, `APP.TYPE.N`. */
  process: string;
  message: string;
}

/** `sales.web.1` → `web.1`: the app is already known wherever events are shown. */
function shortName(app: string, process: string): string {
  return process.startsWith(`${app}.`) ? process.slice(app.length + 1) : process;
}

/** 2000 → `2 s`, 1500 → `1.5 s`, 250 → `0.3 s`. */
export function formatDelay(ms: number): string {
  const s = ms / 1000;
  return `${s >= 10 ? Math.round(s) : Number(s.toFixed(1))} s`;
}

/**
 * Turns a runtime event into the sentence users see in `gantry events`, or
 * undefined for events that would only repeat another (`exit` precedes the
 * `crash` or `stop` that says the same thing better).
 */
export function describeRuntimeEvent(e: RuntimeEvent): DescribedEvent | undefined {
  const name = shortName(e.app, e.process);
  const detail = e.detail?.trim() || undefined;
  const base = { process: e.process };
  switch (e.kind) {
    case 'start':
      return { ...base, kind: 'start', message: `${name} started` };
    case 'stop':
      return { ...base, kind: 'stop', message: `${name} stopped` };
    case 'crash': {
      if (!detail) return { ...base, kind: 'crash', message: `${name} crashed` };
      // The supervisor counts the backoff in ms; people read seconds.
      const text = detail.replace(/restarting in (\d+(?:\.\d+)?) ?ms\b/, (_m, ms: string) => {
        return `restarting in ${formatDelay(Number(ms))}`;
      });
      return { ...base, kind: 'crash', message: `${name} crashed: ${text}` };
    }
    case 'oom':
      return {
        ...base,
        kind: 'oom',
        message: detail ?? `out of memory: ${name} exceeded its memory limit`,
      };
    case 'restart': {
      const attempt = detail ? /^attempt (\d+)$/.exec(detail) : null;
      const suffix = attempt ? ` (attempt ${attempt[1]})` : detail ? ` (${detail})` : '';
      return { ...base, kind: 'restart', message: `${name} restarting${suffix}` };
    }
    case 'exit':
      return undefined;
    default:
      return undefined;
  }
}
