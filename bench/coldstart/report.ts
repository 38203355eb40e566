/** One cold-start round's figures, their percentiles, and the tables printed from them. */
import { summarize, type Summary } from './stats.js';

/** Every figure of one round of one app (ms); missing when that step failed or found no mark. */
export interface Round {
  round: number;
  /** The order the steps ran in (rotated each round). */
  order: string;
  /** Wake: first byte through Gantry of GET /apps/NAME/ to a sleeping app. */
  ttfbMs?: number;
  /** A second request right after (app awake, fresh client connection). */
  warmMs?: number;
  /** The web command exec'd directly: exec → port accepting. */
  ownListenMs?: number;
  /** … → first byte of a direct GET sent once the port accepted. */
  ownFirstByteMs?: number;
  /** The same command in Gantry's bubblewrap sandbox: exec → port accepting. */
  sandboxListenMs?: number;
  /** … and placed in a fresh cgroup with Gantry's default limits, as the runtime does. */
  cgroupListenMs?: number;
  /** The runtime's synchronous cgroup placement call alone (it blocks Gantry's event loop). */
  cgroupEnterMs?: number;
  /** Scaler's wake event: wake call → web.1 in the route. */
  wakeEventMs?: number;
  /** From Gantry's logs (1 ms resolution): request sent → "Starting process". */
  requestToSpawnMs?: number;
  /** "Starting process" → the app's listening line read by Gantry. */
  spawnToListenLineMs?: number;
  /** The app's listening line → first byte at the client. */
  listenLineToFirstByteMs?: number;
  errors: string[];
}

export interface AppRounds {
  name: string;
  label: string;
  rounds: Round[];
}

const diff = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : a - b;

/** Percentiles of every figure; differences are taken per round (paired), then summarized. */
export function summaries(rounds: Round[]): Record<string, Summary> {
  const of = (f: (r: Round) => number | undefined): Summary => summarize(rounds.map(f));
  return {
    ttfb: of((r) => r.ttfbMs),
    ownListen: of((r) => r.ownListenMs),
    overhead: of((r) => diff(r.ttfbMs, r.ownListenMs)),
    ratio: of((r) => (r.ttfbMs !== undefined && r.ownListenMs ? r.ttfbMs / r.ownListenMs : undefined)),
    ownFirstByte: of((r) => r.ownFirstByteMs),
    ownFirstRequest: of((r) => diff(r.ownFirstByteMs, r.ownListenMs)),
    overheadVsOwnFirstByte: of((r) => diff(r.ttfbMs, r.ownFirstByteMs)),
    sandboxListen: of((r) => r.sandboxListenMs),
    cgroupListen: of((r) => r.cgroupListenMs),
    sandboxCost: of((r) => diff(r.sandboxListenMs, r.ownListenMs)),
    cgroupCost: of((r) => diff(r.cgroupListenMs, r.sandboxListenMs)),
    cgroupEnter: of((r) => r.cgroupEnterMs),
    rest: of((r) => diff(r.ttfbMs, r.cgroupListenMs)),
    bootInGantryVsCgroup: of((r) => diff(r.spawnToListenLineMs, r.cgroupListenMs)),
    warm: of((r) => r.warmMs),
    wakeEvent: of((r) => r.wakeEventMs),
    requestToSpawn: of((r) => r.requestToSpawnMs),
    spawnToListenLine: of((r) => r.spawnToListenLineMs),
    listenLineToFirstByte: of((r) => r.listenLineToFirstByteMs),
  };
}

const fmt = (n: number, d = 0): string =>
  Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
export const ms = (n: number, d = 0): string => (Number.isNaN(n) ? '–' : `${fmt(n, d)} ms`);
/** A cost added on top of the previous column: always signed (noise can make it negative). */
const added = (n: number): string => (Number.isNaN(n) ? '–' : `${n < 0 ? '−' : '+'}${fmt(Math.abs(n))} ms`);

/** The table, then where the time goes; returns the lines (printed by the caller). */
export function tables(apps: AppRounds[], sums: Map<string, Record<string, Summary>>): string[] {
  const out = [
    '| app | wakes | TTFB p50 | TTFB p95 | own boot p50 | own boot p95 | overhead p50 | overhead p95 | TTFB / own boot | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const a of apps) {
    const s = sums.get(a.name)!;
    const errors = a.rounds.reduce((n, r) => n + r.errors.length, 0);
    out.push(
      `| ${a.label} | ${s.ttfb!.n} | ${ms(s.ttfb!.p50)} | ${ms(s.ttfb!.p95)} | ${ms(s.ownListen!.p50)} | ${ms(s.ownListen!.p95)} | ${ms(s.overhead!.p50)} | ${ms(s.overhead!.p95)} | ${fmt(s.ratio!.p50, 2)} | ${errors} |`,
    );
  }
  out.push(
    '',
    'Where the time goes (p50 of per-round differences; log marks have 1 ms resolution):',
    '',
    "| app | own boot | sandbox (bwrap) | cgroup placement | enter() wall time (async) | rest: TTFB − boot in sandbox + cgroup | request → spawn | listening line → first byte | of which the app's first request | warm TTFB |",
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const a of apps) {
    const s = sums.get(a.name)!;
    const p = (k: string, d = 0): string => ms(s[k]!.p50, d);
    out.push(
      `| ${a.label} | ${p('ownListen')} | ${added(s.sandboxCost!.p50)} | ${added(s.cgroupCost!.p50)} | ${p('cgroupEnter', 1)} | ${p('rest')} | ${p('requestToSpawn')} | ${p('listenLineToFirstByte')} | ${p('ownFirstRequest')} | ${p('warm', 1)} |`,
    );
  }
  for (const a of apps)
    for (const r of a.rounds) for (const e of r.errors) out.push(`error ${a.name} round ${r.round}: ${e}`);
  return out;
}
