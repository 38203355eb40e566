import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeAppMeta } from './meta.js';

test('control characters are refused in titles and descriptions, line breaks allowed in descriptions', () => {
  assert.throws(() => normalizeAppMeta({ title: 'a\u0000b' }), /control characters/);
  assert.throws(() => normalizeAppMeta({ title: 'two\nlines' }), /control characters/);
  assert.throws(() => normalizeAppMeta({ description: 'nul\u0000here' }), /control characters/);
  assert.deepEqual(normalizeAppMeta({ title: ' Sales ', description: 'line one\nline two\tx' }), {
    title: 'Sales',
    description: 'line one\nline two\tx',
  });
});
