import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, MAX_BUILD_LINE } from './lines.js';

function collect(limits?: { maxLine?: number; maxOutput?: number }): { lines: string[]; s: LineSplitter } {
  const lines: string[] = [];
  return { lines, s: new LineSplitter((l) => lines.push(l), limits) };
}

void test('splits on \\n, \\r\\n and \\r, also when \\r\\n straddles two chunks', () => {
  const { lines, s } = collect();
  s.push(Buffer.from('one\r\ntwo\r'));
  s.push(Buffer.from('\nthree\n\n10%\r50%\r100%'));
  s.flush();
  assert.deepEqual(lines, ['one', 'two', 'three', '', '10%', '50%', '100%']);
});

void test('keeps multi-byte characters split across chunks', () => {
  const { lines, s } = collect();
  const bytes = Buffer.from('héllo ✓\n');
  for (const b of bytes) s.push(Buffer.from([b]));
  s.flush();
  assert.deepEqual(lines, ['héllo ✓']);
});

void test('a line without newline is passed on in capped pieces, not buffered', () => {
  const { lines, s } = collect({ maxLine: 1000 });
  const chunk = Buffer.alloc(64 * 1024, 'a');
  for (let i = 0; i < 16; i++) s.push(chunk); // 1 MiB, no newline
  // Before any newline or flush, nearly all of it has already been emitted.
  const emitted = lines.reduce((n, l) => n + l.length, 0);
  assert.ok(emitted >= 1024 * 1024 - 1000, `emitted ${emitted}`);
  assert.ok(lines.every((l) => l.length <= 1000));
  s.flush();
  assert.equal(
    lines.reduce((n, l) => n + l.length, 0),
    1024 * 1024,
  );
});

void test('default line cap is 16 KiB', () => {
  const { lines, s } = collect();
  s.push(Buffer.alloc(MAX_BUILD_LINE * 3 + 5, 'b'));
  s.push(Buffer.from('\n'));
  s.flush();
  assert.deepEqual(
    lines.map((l) => l.length),
    [MAX_BUILD_LINE, MAX_BUILD_LINE, MAX_BUILD_LINE, 5],
  );
});

void test('total output is capped: one notice, then the rest is dropped', () => {
  const { lines, s } = collect({ maxOutput: 10_000 });
  const line = Buffer.from(`${'x'.repeat(99)}\n`);
  for (let i = 0; i < 100_000; i++) s.push(line); // ~10 MB
  s.push(Buffer.from('tail without newline'));
  s.flush();
  assert.equal(s.truncated, true);
  const notices = lines.filter((l) => l.startsWith('[output truncated'));
  assert.equal(notices.length, 1);
  assert.equal(lines.at(-1), notices[0]);
  assert.ok(lines.length <= 101, `${lines.length} lines passed on`);
  assert.ok(lines.reduce((n, l) => n + l.length + 1, 0) <= 10_000 + 200);
});
