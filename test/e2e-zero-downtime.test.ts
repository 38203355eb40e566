/**
 * Redeploy under load: ten pushes while clients hammer the app. Not one
 * request may fail, and traffic must move to each new release.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startTestServer, deployFixture, push, commitAll, type TestServer } from './helpers/index.js';

interface LoadStats {
  ok: number;
  failed: number;
  errors: string[];
  versions: Set<string>;
}

/** Closed-loop load: `concurrency` clients on keep-alive connections until stopped. */
function startLoad(url: string, concurrency: number): { stop: () => Promise<LoadStats> } {
  const stats: LoadStats = { ok: 0, failed: 0, errors: [], versions: new Set() };
  const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        const res = await request(url, { dispatcher });
        const body = await res.body.text();
        if (res.statusCode === 200) {
          stats.ok++;
          const m = /release=(v\d+)/.exec(body);
          if (m) stats.versions.add(m[1]!);
        } else {
          stats.failed++;
          if (stats.errors.length < 10) stats.errors.push(`${res.statusCode}: ${body.slice(0, 120)}`);
        }
      } catch (e) {
        stats.failed++;
        if (stats.errors.length < 10) stats.errors.push(String(e));
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      await dispatcher.close();
      return stats;
    },
  };
}

describe('zero-downtime redeploys', { timeout: 600_000 }, () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t?.close();
  });

  test('10 redeploys under load: 0 failed requests', async () => {
    const { repo } = await deployFixture(t, 'busy', 'python-stdlib');
    const load = startLoad(`${t.url}/apps/busy/`, 8);
    const original = await readFile(join(repo, 'app.py'), 'utf8');
    const started = Date.now();
    for (let i = 2; i <= 11; i++) {
      await writeFile(join(repo, 'app.py'), `${original}\n# revision ${i}\n`);
      await commitAll(repo, `revision ${i}`);
      const r = await push(t, repo, 'busy');
      assert.equal(r.code, 0, r.stderr);
    }
    const secs = (Date.now() - started) / 1000;
    // Let the last release take traffic for a moment.
    await new Promise((r) => setTimeout(r, 500));
    const stats = await load.stop();
    console.log(
      `# ${stats.ok} requests during 10 redeploys in ${secs.toFixed(1)} s, ${stats.failed} failed, versions seen: ${[...stats.versions].join(' ')}`,
    );
    assert.equal(stats.failed, 0, `failed requests: ${stats.errors.join(' | ')}`);
    assert.ok(stats.ok > 100, 'the load generator really ran');
    assert.ok(stats.versions.has('v11'), 'traffic reached the last release');
    assert.ok(stats.versions.size >= 5, `traffic moved across releases (saw ${stats.versions.size})`);
  });
});
