/**
 * Where the CLI reads and writes. Injected (tests pass their own), so no
 * command touches process.stdout, process.env or process.exit directly.
 */
import type { Readable } from 'node:stream';

export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  stdin: Readable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Ends long-running commands (`logs -f`, `server`) when aborted. */
  signal?: AbortSignal;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
}

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Ends the command with this exit code, printing nothing but `message` (if
 * any) on stderr: what `run` and `cron:run` use to pass a command's exit
 * status through, as a shell would.
 */
export class ExitStatus extends Error {
  readonly code: number;
  constructor(code: number, message = '') {
    super(message);
    this.name = 'ExitStatus';
    this.code = code;
  }
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(rows: string[][], headers?: string[]): string {
  const all = headers ? [headers, ...rows] : rows;
  if (all.length === 0) return '';
  const widths: number[] = [];
  for (const row of all) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: string[]): string =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = all.map(line);
  if (headers) out.splice(1, 0, widths.map((w) => '─'.repeat(w)).join('  '));
  return out.join('\n') + '\n';
}

/** `Key: value` lines with the values aligned, as `heroku apps:info` prints them. */
export function keyValues(pairs: [string, string][]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`.trimEnd() + '\n').join('');
}

export const heading = (title: string): string => `=== ${title}\n`;

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** Human age of an ISO timestamp: `3m ago`, `2d ago`. */
export function ago(iso: string | undefined | null, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return iso;
  if (s < 60) return `${Math.max(s, 0)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** When an ISO timestamp comes: `in 29d`, `expired`; `never` for null. */
export function until(iso: string | undefined | null, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (!Number.isFinite(s)) return iso;
  if (s <= 0) return 'expired';
  if (s < 3600) return `in ${Math.max(1, Math.floor(s / 60))}m`;
  if (s < 86400) return `in ${Math.floor(s / 3600)}h`;
  return `in ${Math.floor(s / 86400)}d`;
}

/** All of stdin as text (for `--password -` and the git credential helper). */
export async function readAll(stdin: CliIo['stdin']): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.from(c as Buffer | string));
  return Buffer.concat(chunks).toString('utf8');
}
