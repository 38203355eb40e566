import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../exec/index.js';
import { isGantryError } from '../errors/index.js';
import { shellCommand } from './run.js';

/** Prints its arguments as JSON: what the command actually received. */
const ECHO_ARGV = 'process.stdout.write(JSON.stringify(process.argv.slice(1)))';

void test('argv reaches the command verbatim through /bin/sh -c, and nothing else runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pwned = join(dir, 'pwned');
  writeFileSync(join(dir, 'a.txt'), '');
  writeFileSync(join(dir, 'b.txt'), '');
  const hostile = [
    `$(touch ${pwned})`,
    `\`touch ${pwned}\``,
    `; touch ${pwned}`,
    `&& touch ${pwned}`,
    `| touch ${pwned}`,
    `\ntouch ${pwned}\n`,
    `> ${pwned}`,
    `<(touch ${pwned})`,
    "it's",
    'say "hi"',
    "'",
    "''",
    '"',
    '\\',
    '\\n',
    '',
    ' ',
    '  two  spaces  ',
    '*',
    '*.txt',
    '?.txt',
    '[ab].txt',
    '{a,b}.txt',
    '~',
    '~root',
    '$HOME',
    '${HOME}',
    '$0',
    '$@',
    '#comment',
    'a=b',
    '--flag=value',
    '-e',
    '!',
    'tab\there',
    'line1\nline2',
    'ünïcødé €',
    '%1',
  ];
  const argv = [process.execPath, '-e', ECHO_ARGV, '--', ...hostile];
  const command = shellCommand(argv);
  const r = await run('/bin/sh', ['-c', command], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual(JSON.parse(r.stdout), hostile);
  assert.equal(existsSync(pwned), false, 'no injected command ran');
  assert.deepEqual(readdirSync(dir).sort(), ['a.txt', 'b.txt']);
});

void test('the first word is always the command: not an assignment, not a reserved word', async () => {
  for (const first of ['FOO=bar', 'if', 'while', '!', '{', 'time']) {
    const r = await run('/bin/sh', ['-c', shellCommand([first, 'x'])]);
    // Found as a command name and missing: the shell tried to run exactly that word.
    assert.equal(r.code, 127, `${first}: ${r.stderr}`);
    assert.ok(r.stderr.includes(first), r.stderr);
  }
});

void test('simple commands stay readable; empty commands and NUL bytes are refused', () => {
  assert.equal(
    shellCommand(['python3', 'report.py', '--since=2024-01-01']),
    'python3 report.py --since=2024-01-01',
  );
  assert.equal(shellCommand(['echo', "it's"]), `echo 'it'\\''s'`);
  assert.equal(shellCommand(['echo', '']), "echo ''");
  assert.equal(shellCommand(['FOO=1', 'x']), "'FOO=1' x");
  for (const bad of [[], [''], ['echo', 'a\0b']]) {
    assert.throws(
      () => shellCommand(bad),
      (e: unknown) => isGantryError(e, 'GANTRY_BAD_REQUEST'),
    );
  }
});
