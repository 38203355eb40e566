/** Running wrk and reading its report. */
import { runChecked } from '../src/exec/index.js';

export interface WrkResult {
  requestsPerSec: number;
  /** Total requests completed in the run. */
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors plus non-2xx/3xx responses. */
  errors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function toMs(value: string, unit: string): number {
  const f = UNIT_MS[unit];
  if (f === undefined) throw new Error(`unknown wrk latency unit ${unit}`);
  return Number(value) * f;
}

/** Parses `wrk --latency` output. Throws when a figure is missing. */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const total = /(\d+) requests in /.exec(out);
  if (!rps || !p50 || !p99 || !total) throw new Error(`cannot parse wrk output:\n${out}`);
  let errors = 0;
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  if (non2xx) errors += Number(non2xx[1]);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  if (sock) errors += sock.slice(1).reduce((a, b) => a + Number(b), 0);
  return {
    requestsPerSec: Number(rps[1]),
    requests: Number(total[1]),
    p50Ms: toMs(p50[1]!, p50[2]!),
    p99Ms: toMs(p99[1]!, p99[2]!),
    errors,
  };
}

export interface WrkOptions {
  url: string;
  durationSec: number;
  threads?: number;
  connections?: number;
  /** Extra request headers, `Name: value` each (wrk -H). */
  headers?: string[];
}

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [`-t${o.threads ?? 1}`, `-c${o.connections ?? 32}`, `-d${o.durationSec}s`, '--latency'];
  for (const h of o.headers ?? []) args.push('-H', h);
  args.push(o.url);
  const r = await runChecked('wrk', args, { timeoutMs: (o.durationSec + 30) * 1000 });
  return parseWrk(r.stdout);
}
