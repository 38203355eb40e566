import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseBytes, parseDuration } from './index.js';

test('defaults: 127.0.0.1:8080, ./.gantry, 512 MiB pushes', () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.host, '127.0.0.1');
  assert.ok(c.dataDir.endsWith('/.gantry'));
  assert.equal(c.maxPushBytes, 512 * 1024 * 1024);
  assert.equal(c.publicUrl, 'http://127.0.0.1:8080');
  assert.equal(c.pythonSystemPackages, false);
});

test('environment wins over the config file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-cfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'gantry.json'),
    JSON.stringify({ port: 9000, host: '0.0.0.0', maxPushSize: '10M' }),
  );
  const c = loadConfig({ GANTRY_DATA_DIR: dir, GANTRY_PORT: '9100', GANTRY_PYTHON_SYSTEM_PACKAGES: '1' });
  assert.equal(c.port, 9100);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.maxPushBytes, 10 * 1024 * 1024);
  assert.equal(c.pythonSystemPackages, true);
});

test('bad values are clear errors', () => {
  assert.throws(() => loadConfig({ GANTRY_PORT: 'eighty' }), /GANTRY_PORT must be a port number/);
  assert.throws(() => loadConfig({ GANTRY_UNSAFE_NO_SANDBOX: 'maybe' }), /must be 1 or 0/);
  assert.throws(() => loadConfig({ GANTRY_CONFIG: '/nonexistent/gantry.json' }), /does not exist/);
  assert.throws(() => parseBytes('lots'), /not a size/);
});

test('sizes and durations', () => {
  assert.equal(parseBytes('512M'), 512 * 1024 * 1024);
  assert.equal(parseBytes('1g'), 1024 ** 3);
  assert.equal(parseBytes('100'), 100);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('250ms'), 250);
});
