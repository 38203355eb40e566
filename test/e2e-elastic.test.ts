/**
 * Elastic apps end to end (issue 4): sleep after the idle timeout and wake on
 * the next request, one start for a crowd, crawlers, WebSockets and idleness,
 * autoscaling under load, memory limits and OOM kills, the release phase,
 * one-off runs, cron, usage and metrics.
 *
 * One server; every app is independent, so the tests run concurrently. The
 * cron app is deployed first and its scheduled run checked last, so the wait
 * for the next minute overlaps everything else.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  startTestServer,
  createApp,
  deployFixture,
  fixtureRepo,
  push,
  eventually,
  sleep,
  tempDir,
  runCli,
  appLogs,
  startLoad,
  ADMIN_PASSWORD,
  type CliRun,
  type TestServer,
} from './helpers/index.js';
import type {
  AppEvent,
  CronJobInfo,
  CronRunInfo,
  LimitsInfo,
  MetricSeries,
  ReleaseInfo,
  ScalingInfo,
} from '../src/api/platform.js';

const IDLE_MS = 2000;
const MB = 1024 * 1024;
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const BROWSER =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const NAVIGATION = {
  'user-agent': BROWSER,
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
};

/** ps rows as JSON (dates are strings). */
interface Proc {
  name: string;
  type: string;
  state: string;
  pid?: number;
  restarts: number;
  usage?: { cpuPercent: number; memoryBytes: number };
  limits?: { memoryBytes?: number };
  oomKills?: number;
}

let t: TestServer;
let home: string;
let jobsDeployedAt = 0;
const pushOutput: Record<string, string> = {};

const appUrl = (app: string, path = ''): string => `${t.url}/apps/${app}/${path}`;
const gantry = (...argv: string[]): Promise<CliRun> => runCli(home, argv);
const scaling = (app: string): Promise<ScalingInfo> => t.api('GET', `/api/apps/${app}/scaling`);
const setScaling = (app: string, change: object): Promise<ScalingInfo> =>
  t.api('PATCH', `/api/apps/${app}/scaling`, change);
const ps = async (app: string): Promise<Proc[]> =>
  (await t.api<{ processes: Proc[] }>('GET', `/api/apps/${app}/ps`)).processes;
/** Web processes that are up or on their way (stopped ones may linger in the list). */
const liveWeb = (procs: Proc[]): Proc[] => procs.filter((p) => p.type === 'web' && p.state !== 'stopped');
/** Newest first. */
const events = async (app: string): Promise<AppEvent[]> =>
  (await t.api<{ events: AppEvent[] }>('GET', `/api/apps/${app}/events?limit=200`)).events;
/** The events newer than the newest one of `kind` (all of them if there is none). */
function newerThan(list: AppEvent[], kind: string): AppEvent[] {
  const i = list.findIndex((e) => e.kind === kind);
  return i < 0 ? list : list.slice(0, i);
}
const isWeb = (e: AppEvent): boolean => /\.web\.\d+$/.test(e.process ?? '');
const show = (list: AppEvent[]): string =>
  list.map((e) => `${e.kind} ${e.process ?? '-'}: ${e.message}`).join(' | ');

async function waitState(app: string, state: ScalingInfo['state'], timeoutMs: number): Promise<ScalingInfo> {
  let last: ScalingInfo | undefined;
  try {
    return await eventually(
      async () => {
        last = await scaling(app);
        return last.state === state && last;
      },
      timeoutMs,
      `${app} to be ${state}`,
    );
  } catch (e) {
    throw new Error(`${String(e)} (last: ${JSON.stringify(last)}; events: ${show(await events(app))})`, {
      cause: e,
    });
  }
}

/** Resolves once `ws` is open; rejects with the upgrade's status otherwise. */
function opened(ws: WebSocket, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`WebSocket upgrade to ${url} answered ${res.statusCode}`)),
    );
  });
}

/** Sends `text` and resolves with the next message. */
function ask(ws: WebSocket, text: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no answer to "${text}" within ${timeoutMs} ms`)),
      timeoutMs,
    );
    ws.once('message', (data: WebSocket.RawData) => {
      clearTimeout(timer);
      resolve(Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
    });
    ws.send(text);
  });
}

describe('elastic apps', { concurrency: true, timeout: 420_000 }, () => {
  before(async () => {
    t = await startTestServer({
      // Apps only sleep when a test asks for it (per app, 2 s).
      defaultIdleTimeoutMs: 10 * 60_000,
      autoscaleWindowMs: 3000,
      metricsIntervalMs: 1000,
      wakeTimeoutMs: 30_000,
    });
    home = await tempDir('gantry-elastic-home-');
    const login = await gantry('login', t.url, '--username', 'admin', '--password', ADMIN_PASSWORD);
    assert.equal(login.code, 0, login.err);
    // The cron app first: the last test waits for its first scheduled run.
    await createApp(t, 'jobs');
    await t.api('PATCH', '/api/apps/jobs/config', { set: { GREETING: 'hola' } });
    const r = await push(t, await fixtureRepo('elastic'), 'jobs');
    assert.equal(r.code, 0, `push of jobs failed:\n${r.stderr}`);
    jobsDeployedAt = Date.now();
    pushOutput.jobs = r.stderr;
    const apps: [string, string][] = [
      ['napper', 'elastic'],
      ['crowd', 'elastic'],
      ['crawled', 'elastic'],
      ['busy', 'elastic'],
      ['hungry', 'elastic'],
      ['releaser', 'elastic'],
      ['sockets', 'express-ws'],
    ];
    await Promise.all(
      apps.map(async ([app, fixture]) => {
        pushOutput[app] = (await deployFixture(t, app, fixture)).output;
      }),
    );
  });
  after(async () => {
    await t?.close();
  });

  test('an idle app sleeps after its idle timeout and wakes on the next request', async () => {
    const app = 'napper';
    assert.equal((await fetch(appUrl(app))).status, 200);
    const lastRequest = Date.now();
    const set = await setScaling(app, { min: 0, idleTimeoutMs: IDLE_MS });
    assert.equal(set.settings.idleTimeoutMs, IDLE_MS);
    assert.equal(set.settings.min, 0);
    assert.ok(set.custom.includes('idleTimeoutMs'), `custom settings: ${set.custom.join(', ')}`);
    assert.equal(set.state, 'awake');

    await waitState(app, 'asleep', 20_000);
    const idle = Date.now() - lastRequest;
    assert.ok(idle >= IDLE_MS, `asleep after ${idle} ms, before its ${IDLE_MS} ms idle timeout`);
    // The state turns asleep as the route stops taking requests; stopping the process follows.
    await eventually(
      async () => liveWeb(await ps(app)).length === 0 && (await events(app)).some((e) => e.kind === 'sleep'),
      10_000,
      'no web process and a sleep event',
    );

    const started = Date.now();
    const res = await fetch(appUrl(app));
    const body = await res.text();
    console.log(`# napper: first request to the sleeping app answered in ${Date.now() - started} ms`);
    assert.equal(res.status, 200, body);
    assert.match(body, /^hello release=v1 greeting=none/);
    const awake = await waitState(app, 'awake', 5000);
    assert.equal(awake.replicas, 1);
    assert.equal(liveWeb(await ps(app)).length, 1);
    await eventually(
      async () => newerThan(await events(app), 'sleep').some((e) => e.kind === 'wake'),
      5000,
      'a wake event after the sleep',
    );
  });

  test('100 simultaneous requests to a sleeping app start it once and are all answered', async () => {
    const app = 'crowd';
    await t.api('POST', `/api/apps/${app}/sleep`);
    await waitState(app, 'asleep', 20_000);
    assert.deepEqual(liveWeb(await ps(app)), []);

    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        try {
          const res = await fetch(appUrl(app, `?n=${i}`));
          return `${res.status} ${(await res.text()).trim()}`;
        } catch (e) {
          return `error ${String(e)}`;
        }
      }),
    );
    console.log(`# crowd: 100 simultaneous first requests answered in ${Date.now() - started} ms`);
    const bad = answers.filter((a) => !a.startsWith('200 hello release=v1'));
    assert.deepEqual(bad, [], `${bad.length} of 100 requests failed`);

    await waitState(app, 'awake', 5000);
    // Let any duplicate start show up before counting.
    await sleep(1000);
    const after = newerThan(await events(app), 'sleep');
    const starts = after.filter((e) => e.kind === 'start' && isWeb(e));
    assert.equal(starts.length, 1, `web starts after the sleep: ${show(after)}`);
    assert.equal(liveWeb(await ps(app)).length, 1);
  });

  test('crawlers do not wake a sleeping app; robots.txt; browsers get the Starting page', async () => {
    const app = 'crawled';
    await t.api('POST', `/api/apps/${app}/sleep`);
    await waitState(app, 'asleep', 20_000);

    const bot = await fetch(appUrl(app), { headers: { 'user-agent': GOOGLEBOT, accept: 'text/html' } });
    const botBody = await bot.text();
    assert.equal(bot.status, 503, botBody);
    // Time for a wrongly started wake to show.
    await sleep(1500);
    assert.equal((await scaling(app)).state, 'asleep', 'a crawler woke the app');
    const woke = newerThan(await events(app), 'sleep').filter(
      (e) => e.kind === 'wake' || (e.kind === 'start' && isWeb(e)),
    );
    assert.deepEqual(woke, [], 'a crawler started the app');
    assert.deepEqual(liveWeb(await ps(app)), []);

    const robots = await fetch(`${t.url}/robots.txt`);
    const rules = await robots.text();
    assert.equal(robots.status, 200);
    assert.match(rules, /^User-agent: \*$/im);
    assert.match(rules, /^Disallow: \/apps\/$/im);

    const page = await fetch(appUrl(app), { headers: NAVIGATION });
    const html = await page.text();
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(html, /Starting crawled/, `a browser navigation got ${page.status}: ${html.slice(0, 300)}`);
    await waitState(app, 'awake', 30_000);
    const again = await fetch(appUrl(app), { headers: NAVIGATION });
    assert.equal(again.status, 200);
    assert.match(await again.text(), /^hello release=v1/);
  });

  test('a silent open WebSocket lets the app sleep; one sending frames keeps it awake', async () => {
    const app = 'sockets';
    const wsUrl = `${t.url.replace(/^http/, 'ws')}/apps/${app}/ws`;
    await setScaling(app, { min: 0, idleTimeoutMs: IDLE_MS });

    const silent = new WebSocket(wsUrl);
    await opened(silent, wsUrl);
    const openedAt = Date.now();
    let closedAt: number | undefined;
    silent.on('close', () => (closedAt ??= Date.now()));
    silent.on('error', () => undefined);
    let asleepAfter: number;
    try {
      await waitState(app, 'asleep', 30_000);
      asleepAfter = Date.now() - openedAt;
      const open = (closedAt ?? Date.now()) - openedAt;
      assert.ok(open >= IDLE_MS - 100, `the silent socket closed after ${open} ms, before the idle timeout`);
    } finally {
      silent.terminate();
    }

    const wake = await fetch(appUrl(app));
    assert.equal(wake.status, 200);
    assert.match(await wake.text(), /hello from express/);
    const chatty = new WebSocket(wsUrl);
    await opened(chatty, wsUrl);
    const chatStart = Date.now();
    try {
      // Past twice the idle timeout, a frame each way every second.
      for (let i = 1; Date.now() - chatStart < 2 * IDLE_MS + 1500; i++) {
        assert.equal(await ask(chatty, `tick ${i}`), `echo: tick ${i}`);
        const s = await scaling(app);
        assert.equal(s.state, 'awake', `asleep after ${Date.now() - chatStart} ms of a chatty WebSocket`);
        await sleep(1000);
      }
    } finally {
      chatty.terminate();
    }
    const slept = (await events(app)).filter((e) => e.kind === 'sleep' && Date.parse(e.at) >= chatStart);
    assert.deepEqual(slept, [], 'no sleep while frames flowed');
    // Once it closes, the app is idle again.
    await waitState(app, 'asleep', 30_000);
    // Checked last so the chatty half runs either way. Ticks and stopping take a
    // moment, but a silent socket must not hold the process much past the timeout.
    assert.ok(
      asleepAfter <= IDLE_MS + 8000,
      `asleep only ${asleepAfter} ms after the silent WebSocket opened (idle timeout ${IDLE_MS} ms)`,
    );
  });

  test('autoscaling adds replicas under load and removes them after', async () => {
    const app = 'busy';
    const set = await gantry('autoscale:set', '-a', app, '--min', '1', '--max', '3', '--concurrency', '2');
    assert.equal(set.code, 0, set.err + set.out);
    const s = await scaling(app);
    assert.deepEqual(
      { min: s.settings.min, max: s.settings.max, concurrency: s.settings.concurrency },
      { min: 1, max: 3, concurrency: 2 },
    );
    const show1 = await gantry('autoscale', '-a', app);
    assert.equal(show1.code, 0, show1.err);
    assert.match(show1.out, /3/);

    const started = Date.now();
    const load = startLoad(appUrl(app, 'slow?ms=200'), 12);
    let most = 0;
    let scaledAfter: number | undefined;
    try {
      while (Date.now() - started < 25_000) {
        const now = await scaling(app);
        most = Math.max(most, now.replicas, liveWeb(await ps(app)).length);
        scaledAfter ??= now.replicas >= 2 ? Date.now() - started : undefined;
        // Keep the load on a little after the scale-up so replicas take traffic.
        if (scaledAfter !== undefined && Date.now() - started >= scaledAfter + 3000) break;
        await sleep(250);
      }
    } finally {
      const result = await load.stop();
      console.log(
        `# busy: ${result.ok} requests, ${result.failed} failed, replicas ≥ 2 after ${scaledAfter} ms, at most ${most}`,
      );
      assert.equal(result.failed, 0, `failed requests: ${result.errors.join(' | ')}`);
      assert.ok(result.ok > 50, `the load generator really ran (${result.ok} requests)`);
    }
    assert.ok(scaledAfter !== undefined, `no replica added under load: ${show(await events(app))}`);
    assert.ok(scaledAfter < 15_000, `took ${scaledAfter} ms to add a replica`);
    assert.ok(most <= 3, `${most} web processes, above max 3`);
    const up = (await events(app)).find((e) => e.kind === 'scale' && /from 1 to [23]\b/.test(e.message));
    assert.ok(up, `a scale-up event: ${show(await events(app))}`);
    assert.match(up.message, /: \S.*\d/, 'the scale event gives its reason');

    await eventually(
      async () => {
        const now = await scaling(app);
        return now.replicas === 1 && now.desired === 1 && liveWeb(await ps(app)).length === 1;
      },
      30_000,
      'busy back to 1 replica after the load',
    );
    // The event follows once the surplus processes have drained and stopped.
    await eventually(
      async () => (await events(app)).some((e) => e.kind === 'scale' && /from [23] to 1\b/.test(e.message)),
      15_000,
      'a scale-down event to 1',
    );
  });

  test('a process over its memory limit is killed, reported and restarted', async () => {
    const app = 'hungry';
    const set = await gantry('limits:set', '-a', app, 'web', '--memory', '64M');
    assert.equal(set.code, 0, set.err + set.out);
    const limits = await t.api<LimitsInfo>('GET', `/api/apps/${app}/limits`);
    assert.equal(limits.types.web?.memoryBytes, 64 * MB);
    assert.ok(limits.enforced, `limits are not enforced on this host: ${limits.reason ?? '?'}`);
    await eventually(
      async () => {
        const web = liveWeb(await ps(app));
        return web.length === 1 && web[0]!.state === 'running' && web[0]!.limits?.memoryBytes === 64 * MB;
      },
      30_000,
      'web restarted with the 64 MB limit',
    );

    const res = await fetch(appUrl(app, 'alloc?mb=300')).then(
      async (r) => `${r.status} ${await r.text()}`,
      (e: unknown) => `error ${String(e)}`,
    );
    assert.doesNotMatch(res, /^200/, 'allocating 300 MB under a 64 MB limit succeeded');
    const line = 'out of memory: web.1 exceeded its 64 MB limit';
    const oom = await eventually(
      async () => (await events(app)).find((e) => e.kind === 'oom'),
      15_000,
      'an oom event',
    );
    assert.equal(oom.message, line);
    assert.equal(oom.process, `${app}.web.1`);
    await eventually(async () => (await appLogs(t, app)).includes(line), 10_000, `"${line}" in the logs`);
    const cli = await gantry('events', '-a', app);
    assert.equal(cli.code, 0, cli.err);
    assert.ok(cli.out.includes(line), cli.out);

    await eventually(
      async () => {
        const web = liveWeb(await ps(app))[0];
        return web?.state === 'running' && (web.oomKills ?? 0) >= 1 && web.restarts >= 1;
      },
      30_000,
      'web.1 restarted after the OOM kill, with the kill counted',
    );
    // Right after the restart the app may still be booting: count the answers until it serves.
    const seen: number[] = [];
    await eventually(
      async () => {
        const r = await fetch(appUrl(app));
        await r.text();
        seen.push(r.status);
        return r.status === 200;
      },
      15_000,
      'hungry to serve again',
    );
    console.log(`# hungry: answers after the restart until it served: ${seen.join(' ')}`);
  });

  test('a failing release step aborts the deploy and the old release keeps serving', async () => {
    const app = 'releaser';
    assert.match(
      pushOutput[app] ?? '',
      /release step ran for v1/,
      'the release step ran at the first deploy',
    );
    const before = liveWeb(await ps(app));
    assert.equal(before.length, 1);

    await assert.rejects(
      t.api('PATCH', `/api/apps/${app}/config`, { set: { FAIL_RELEASE: '1', GREETING: 'broken' } }),
      /release/i,
    );
    const res = await fetch(appUrl(app));
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^hello release=v1 greeting=none/);
    const { releases } = await t.api<{ releases: ReleaseInfo[] }>('GET', `/api/apps/${app}/releases`);
    assert.deepEqual(
      releases.map((r) => [r.version, r.current]),
      [[1, true]],
    );
    const after = liveWeb(await ps(app));
    assert.deepEqual(
      after.map((p) => p.pid),
      before.map((p) => p.pid),
      'the serving process was left alone',
    );
  });

  test('gantry run passes the config, streams the output and passes the exit code through', async () => {
    const r = await gantry(
      'run',
      '-a',
      'jobs',
      '--',
      'python3',
      '-c',
      "import os, sys; print('greeting is', os.environ['GREETING']); sys.exit(3)",
    );
    assert.equal(r.code, 3, r.err + r.out);
    assert.match(r.out, /greeting is hola/);

    const res = await fetch(`${t.url}/api/apps/jobs/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ command: ['sh', '-c', 'echo "out $GREETING" && exit 4'] }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { output?: string; exit?: { code: number | null; signal: string | null } },
      );
    const output = lines.map((l) => l.output ?? '').join('');
    assert.match(output, /out hola/);
    assert.deepEqual(lines.at(-1), { exit: { code: 4, signal: null } });
  });

  test('cron entries are listed and run on demand', async () => {
    const { jobs } = await t.api<{ jobs: CronJobInfo[] }>('GET', '/api/apps/jobs/cron');
    assert.equal(jobs.length, 1);
    const job = jobs[0]!;
    assert.equal(job.schedule, '* * * * *');
    assert.match(job.command, /cron ran/);
    const next = Date.parse(job.nextRunAt ?? '');
    assert.ok(next > Date.now() - 5000 && next <= Date.now() + 61_000, `nextRunAt ${job.nextRunAt}`);
    const list = await gantry('cron', '-a', 'jobs');
    assert.equal(list.code, 0, list.err);
    assert.ok(list.out.includes(job.id), list.out);

    let run = await gantry('cron:run', '-a', 'jobs', job.id);
    // The scheduled run may be going on right now (no overlapping runs): try once more.
    if (run.code !== 0 && /already running|running now/i.test(run.err)) {
      await sleep(3000);
      run = await gantry('cron:run', '-a', 'jobs', job.id);
    }
    assert.equal(run.code, 0, run.err + run.out);
    assert.match(run.out, /cron ran hola/);
    const { runs } = await t.api<{ runs: CronRunInfo[] }>('GET', '/api/apps/jobs/cron/runs');
    assert.ok(
      runs.some((r) => r.trigger === 'manual' && r.status === 'succeeded' && r.exitCode === 0),
      JSON.stringify(runs),
    );
  });

  test('ps shows CPU and memory; /metrics counts requests for admins only', async () => {
    const app = 'jobs';
    for (let i = 0; i < 3; i++) assert.equal((await fetch(appUrl(app))).status, 200);
    const web = await eventually(
      async () => liveWeb(await ps(app)).find((p) => p.usage && p.usage.memoryBytes > 0),
      15_000,
      'a usage sample on web.1',
    );
    assert.equal(typeof web.usage!.cpuPercent, 'number');
    assert.ok(web.usage!.memoryBytes < 1024 * MB, `memory ${web.usage!.memoryBytes}`);
    const cli = await gantry('ps', '-a', app);
    assert.equal(cli.code, 0, cli.err);
    assert.match(cli.out, /web\.1/);
    assert.match(cli.out, /\d+(\.\d+)? ?(KB|MB|MiB)/, `memory in gantry ps: ${cli.out}`);
    assert.match(cli.out, /\d+(\.\d+)? ?%/, `CPU in gantry ps: ${cli.out}`);

    const anon = await fetch(`${t.url}/metrics`);
    await anon.text();
    assert.equal(anon.status, 401);
    const prom = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.token}` } });
    const text = await prom.text();
    assert.equal(prom.status, 200);
    assert.match(prom.headers.get('content-type') ?? '', /^text\/plain/);
    const m = /^gantry_app_requests_total\{app="jobs"\} (\d+)/m.exec(text);
    assert.ok(m && Number(m[1]) >= 3, `gantry_app_requests_total for jobs in:\n${text.slice(0, 1500)}`);

    const series = await eventually(
      async () => {
        const s = await t.api<MetricSeries>('GET', `/api/apps/${app}/metrics?range=1h`);
        return s.points.some((p) => p.rps > 0 && p.memoryBytes > 0) && s;
      },
      15_000,
      'a metrics point with requests and memory',
    );
    assert.equal(series.range, '1h');
  });

  test('cron runs on schedule, with the exit code in its history', async () => {
    // The first scheduled run is at most a minute after the deploy; a slot skipped
    // because the manual run overlapped it gives way to the next one.
    const deadline = jobsDeployedAt + 130_000 - Date.now();
    const run = await eventually(
      async () => {
        const { runs } = await t.api<{ runs: CronRunInfo[] }>('GET', '/api/apps/jobs/cron/runs');
        return runs.find((r) => r.trigger === 'schedule' && r.status !== 'running' && r.status !== 'skipped');
      },
      Math.max(deadline, 5000),
      'a scheduled cron run',
    );
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    assert.equal(run.exitCode, 0);
    const { jobs } = await t.api<{ jobs: CronJobInfo[] }>('GET', '/api/apps/jobs/cron');
    assert.ok(jobs[0]?.lastRun, 'the job shows its last run');
  });
});
