import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log/index.js';
import { LogStore, formatLogLine, parseLogLine } from './index.js';

const line = (text: string, process = 'sales.web.1') => ({
  app: 'sales',
  process,
  stream: 'stdout' as const,
  time: new Date(),
  text,
});

test('tail returns the last lines and followers see new ones', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = new LogStore({ dir, logger: silentLogger });
  const seen: string[] = [];
  const off = s.subscribe('sales', (l) => seen.push(l.text));
  for (let i = 0; i < 10; i++) s.append(line(`line ${i}`));
  off();
  s.append(line('after unsubscribe'));
  assert.deepEqual(
    (await s.tail('sales', 3)).map((l) => l.text),
    ['line 8', 'line 9', 'after unsubscribe'],
  );
  assert.equal(seen.length, 10);
  assert.deepEqual(await s.tail('other', 5), []);
});

test('logs survive a restart through the file', async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-logs-'));
  ctx.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = new LogStore({ dir, logger: silentLogger });
  a.append(line('before restart: a: b'));
  a.append(line('worker says hi', 'sales.worker.1'));
  await a.flush();
  const b = new LogStore({ dir, logger: silentLogger });
  const t = await b.tail('sales', 10);
  assert.deepEqual(
    t.map((l) => `${l.process} ${l.text}`),
    ['sales.web.1 before restart: a: b', 'sales.worker.1 worker says hi'],
  );
});

test('format round-trips', () => {
  const l = line('hello: world');
  assert.deepEqual(parseLogLine('sales', formatLogLine(l))?.text, 'hello: world');
  assert.equal(parseLogLine('sales', 'garbage'), undefined);
});
