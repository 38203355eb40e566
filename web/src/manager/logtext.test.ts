import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendCapped, highlight, lineMatches, processChoices, shortProcess } from './logtext.js';

test('appendCapped keeps the newest items', () => {
  assert.deepEqual(appendCapped([1, 2, 3], [4, 5], 4), [2, 3, 4, 5]);
  assert.deepEqual(appendCapped([1, 2], [3], 5), [1, 2, 3]);
  assert.deepEqual(appendCapped([1], [2, 3, 4, 5, 6], 3), [4, 5, 6]);
  const buf = [1];
  appendCapped(buf, [2], 5);
  assert.deepEqual(buf, [1], 'the input is not changed');
});

test('shortProcess drops the app prefix only', () => {
  assert.equal(shortProcess('sales', 'sales.web.1'), 'web.1');
  assert.equal(shortProcess('sales', 'gantry'), 'gantry');
  assert.equal(shortProcess('sales', 'salesy.web.1'), 'salesy.web.1');
});

test('lineMatches searches text and process, ignoring case', () => {
  const line = { process: 'sales.worker.2', text: 'GET /Health 200' };
  assert.ok(lineMatches(line, ''));
  assert.ok(lineMatches(line, 'health'));
  assert.ok(lineMatches(line, 'WORKER'));
  assert.ok(!lineMatches(line, 'error'));
});

test('highlight marks every occurrence', () => {
  assert.deepEqual(highlight('Error: error!', 'error'), [
    { text: 'Error', match: true },
    { text: ': ', match: false },
    { text: 'error', match: true },
    { text: '!', match: false },
  ]);
  assert.deepEqual(highlight('plain', ''), [{ text: 'plain', match: false }]);
  assert.deepEqual(highlight('plain', 'zzz'), [{ text: 'plain', match: false }]);
});

test('processChoices lists types then their processes in order', () => {
  assert.deepEqual(
    processChoices('sales', ['web'], ['sales.web.10', 'sales.web.2', 'sales.worker.1', 'gantry']),
    ['web', 'web.2', 'web.10', 'worker', 'worker.1'],
  );
});
