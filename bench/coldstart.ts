/**
 * Cold-start benchmark: a real Gantry server in this process (bubblewrap sandbox, Debian's
 * python3-flask), three apps deployed to it — stdlib Python, Flask, Express — each put to
 * sleep and woken by one GET, BENCH_ROUNDS times. Measured side by side in the same run,
 * interleaved round by round (order rotated each round):
 *   - wake: time to first byte of GET /apps/NAME/ on a fresh connection to a sleeping app;
 *   - own boot: the same web command exec'd directly (no sandbox, the slug's interpreter,
 *     Gantry's uid, a PORT) until its port accepts, polled every 1 ms;
 *   - sandboxed boot: the same, inside the bubblewrap sandbox Gantry builds (same argv);
 *   - sandboxed + cgroup: the same again, placed in a fresh cgroup with Gantry's default
 *     limits the way the runtime does it (after spawn, before the env reaches bwrap);
 * the last two split Gantry's overhead into sandbox, cgroup and control-plane costs.
 * Platform overhead per round = wake TTFB − own boot. Where the rest goes comes from
 * Gantry's own records: the wake event's duration and the web process's log timestamps
 * (request → "Starting process" → the app's listening line → first byte).
 * Results: tables on stdout and bench/results/coldstart-latest.json.
 *
 * Env: BENCH_ROUNDS (default 20), BENCH_APPS (comma-separated substrings of app names;
 * a partial run is written to the temp dir, never over the recorded one),
 * BENCH_BASELINE_ONLY=1 (the boots outside Gantry only, no sleep/wake), BENCH_LOG
 * (Gantry's log level, default silent).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../src/log/index.js';
import { CgroupManager, type ResourceLimits } from '../src/runtime/index.js';
import { APPS, launches, withPort, writeApp, type BenchApp } from './coldstart/apps.js';
import { firstByte, freePort, timeBoot, type Launch } from './coldstart/boot.js';
import {
  appFiles,
  appLogs,
  deployApp,
  putToSleep,
  startGantry,
  wakeEvents,
  type Gantry,
} from './coldstart/gantry.js';
import { ms, summaries, tables, type Round } from './coldstart/report.js';
import { wakeEventMs, wakeMarks } from './coldstart/stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const ONLY = (process.env.BENCH_APPS ?? '').split(',').filter(Boolean);
const BASELINE_ONLY = process.env.BENCH_BASELINE_ONLY === '1';
const LOG_LEVEL = process.env.BENCH_LOG ?? 'silent';
/** Pause after an app reports asleep, so its teardown does not overlap the next measurement. */
const SETTLE_MS = 150;

interface Target {
  app: BenchApp;
  direct: Launch;
  sandboxed: Launch;
  path: string;
  rounds: Round[];
}

interface Env {
  g: Gantry;
  cgroups: CgroupManager;
  /** The limits Gantry gives a web process by default (its cgroup's settings). */
  limits: ResourceLimits;
}

/** App dir of the benchmark's own cgroups: beside Gantry's apps, never inside one. */
const CGROUP_APP = 'coldstart-bench';

async function measureWake(g: Gantry, t: Target, r: Round): Promise<void> {
  const since = Date.now();
  const cold = await firstByte(g.port, t.path);
  if (cold.status !== 200 || !cold.body.includes(t.app.expect))
    throw new Error(`wake answered ${cold.status}: ${cold.body.slice(0, 200)}`);
  r.ttfbMs = cold.ms;
  const firstByteAt = since + cold.ms;
  const warm = await firstByte(g.port, t.path);
  if (warm.status === 200) r.warmMs = warm.ms;
  const ev = (await wakeEvents(g, t.app.name, since))[0];
  r.wakeEventMs = ev ? wakeEventMs(ev.message) : undefined;
  const m = wakeMarks(await appLogs(g, t.app.name), t.app.name, since, t.app.listenLine);
  if (m.spawnAt !== undefined) r.requestToSpawnMs = m.spawnAt - since;
  if (m.spawnAt !== undefined && m.listenAt !== undefined) r.spawnToListenLineMs = m.listenAt - m.spawnAt;
  if (m.listenAt !== undefined) r.listenLineToFirstByteMs = firstByteAt - m.listenAt;
}

/** Boots the app outside Gantry: directly, in the sandbox, or in the sandbox and a fresh cgroup. */
async function measureBoot(env: Env, t: Target, r: Round, step: string): Promise<void> {
  const port = await freePort();
  if (step === 'own') {
    const b = await timeBoot(withPort(t.direct, port), port, t.path, t.app.expect);
    [r.ownListenMs, r.ownFirstByteMs] = [b.listenMs, b.firstByteMs];
    return;
  }
  if (step === 'sandboxed') {
    r.sandboxListenMs = (await timeBoot(withPort(t.sandboxed, port), port, t.path, t.app.expect)).listenMs;
    return;
  }
  const cg = env.cgroups.create({ app: CGROUP_APP, name: 'web.1', limits: env.limits });
  if (!cg) throw new Error(`no cgroups here: ${env.cgroups.support.reason ?? 'unknown reason'}`);
  try {
    // enter() is asynchronous (the v1 memory move waits ~10 ms for an RCU grace period); what
    // is measured here is its wall time, which the event loop no longer spends blocked.
    const afterSpawn = async (pid: number): Promise<void> => {
      const t0 = performance.now();
      await cg.enter(pid);
      r.cgroupEnterMs = performance.now() - t0;
    };
    const launch = { ...withPort(t.sandboxed, port), afterSpawn };
    r.cgroupListenMs = (await timeBoot(launch, port, t.path, t.app.expect)).listenMs;
  } finally {
    await cg.destroy();
  }
}

async function runRound(env: Env, t: Target, round: number): Promise<Round> {
  const boots = env.cgroups.enabled ? ['own', 'sandboxed', 'cgroup'] : ['own', 'sandboxed'];
  const steps = BASELINE_ONLY ? boots : [...boots, 'wake'];
  const order = [...steps.slice(round % steps.length), ...steps.slice(0, round % steps.length)];
  const r: Round = { round, order: order.join(','), errors: [] };
  if (!BASELINE_ONLY) {
    await putToSleep(env.g, t.app.name);
    await sleep(SETTLE_MS);
  }
  for (const step of order) {
    try {
      if (step === 'wake') await measureWake(env.g, t, r);
      else await measureBoot(env, t, r, step);
    } catch (e) {
      r.errors.push(`${step}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return r;
}

async function main(): Promise<void> {
  const apps = ONLY.length === 0 ? APPS : APPS.filter((a) => ONLY.some((o) => a.name.includes(o)));
  const g = await startGantry({ logLevel: LOG_LEVEL });
  const src = await mkdtemp(join(tmpdir(), 'gantry-coldstart-src-'));
  const env: Env = {
    g,
    cgroups: CgroupManager.detect({ logger: createLogger({ level: LOG_LEVEL }) }),
    limits: g.server.config.defaultLimits,
  };
  try {
    const targets: Target[] = [];
    for (const app of apps) {
      const dir = join(src, app.name);
      await writeApp(app, dir);
      const t0 = Date.now();
      await deployApp(g, app.name, dir, !BASELINE_ONLY);
      console.log(`deployed ${app.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const f = await appFiles(g, app.name);
      targets.push({ app, path: `/apps/${app.name}/`, rounds: [], ...launches(app, f.slug, f.data, f.uid) });
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) t.rounds.push(await runRound(env, t, round));
      const last = targets.map((t) => {
        const r = t.rounds.at(-1)!;
        return `${t.app.name} ${ms(r.ttfbMs ?? NaN)} / own ${ms(r.ownListenMs ?? NaN)}`;
      });
      console.log(`round ${round + 1}/${ROUNDS}: ${last.join(', ')}`);
    }
    const sums = new Map(targets.map((t) => [t.app.name, summaries(t.rounds)]));
    const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
    console.log(
      `\n${ROUNDS} rounds per app, interleaved; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load ${load}`,
    );
    const rows = targets.map((t) => ({ name: t.app.name, label: t.app.label, rounds: t.rounds }));
    console.log(`cgroups: ${JSON.stringify(env.cgroups.support)}\n`);
    for (const line of tables(rows, sums)) console.log(line);
    const goal = targets.map((t) => `${t.app.name} ${ms(sums.get(t.app.name)!.overhead!.p50)}`);
    console.log(`\ngoal: platform overhead p50 < 50 ms — ${goal.join(', ')}`);
    const partial = ONLY.length > 0 || BASELINE_ONLY || ROUNDS < 20;
    const out = partial
      ? join(tmpdir(), 'gantry-coldstart-partial.json')
      : join(here, 'results', 'coldstart-latest.json');
    await mkdir(dirname(out), { recursive: true });
    const result = {
      date: new Date().toISOString(),
      loadavg: load,
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryBytes: totalmem(),
      rounds: ROUNDS,
      baselineOnly: BASELINE_ONLY,
      apps: targets.map((t) => ({
        name: t.app.name,
        label: t.app.label,
        command: t.app.argv.join(' '),
        summary: sums.get(t.app.name),
        rounds: t.rounds,
      })),
    };
    await writeFile(out, JSON.stringify(result, null, 2) + '\n');
    console.log(`\nwritten to ${out}`);
  } finally {
    await g.close();
    await rm(src, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
