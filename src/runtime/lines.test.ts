import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, TailBuffer } from './lines.js';

function split(chunks: Buffer[], max?: number): string[] {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(l), max);
  for (const c of chunks) s.push(c);
  s.end();
  return out;
}

void test('splits lines across chunks and flushes the trailing partial line', () => {
  assert.deepEqual(split([Buffer.from('a\nb'), Buffer.from('c\r\n\nd')]), ['a', 'bc', '', 'd']);
});

void test('keeps multi-byte characters split between chunks intact', () => {
  const bytes = Buffer.from('héllo €\n');
  assert.deepEqual(split([bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)]), ['héllo €']);
});

void test('caps long lines', () => {
  const out = split([Buffer.from('x'.repeat(25)), Buffer.from('y\nz')], 10);
  assert.deepEqual(out, ['x'.repeat(10), 'x'.repeat(10), 'xxxxxy', 'z']);
  assert.ok(out.every((l) => l.length <= 10));
});

void test('tail buffer keeps the last characters', () => {
  const t = new TailBuffer(5);
  for (const s of ['abc', 'defg', 'hijklmnop', 'q']) t.append(s);
  assert.equal(t.toString(), 'mnopq');
});
