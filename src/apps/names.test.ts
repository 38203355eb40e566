import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { validateAppName, isValidAppName } from './names.js';
import { isGantryError } from '../errors/index.js';

void test('accepts lowercase names with digits and dashes', () => {
  for (const n of ['a', 'sales-dash', 'app2', 'x-1-y', 'a'.repeat(63)]) {
    assert.equal(validateAppName(n), n);
    assert.equal(isValidAppName(n), true);
  }
});

void test('rejects hostile and malformed names with GANTRY_INVALID_APP_NAME', () => {
  const bad = [
    '$(touch /tmp/pwned)',
    '; id',
    '--upload-pack=x',
    '..',
    'a/b',
    'Sales',
    'a'.repeat(64),
    '',
    '1app',
    '-app',
    'app_1',
    'app\n',
    'app name',
    '../etc',
    'é',
  ];
  for (const n of bad) {
    assert.equal(isValidAppName(n), false, n);
    assert.throws(
      () => validateAppName(n),
      (e: unknown) => isGantryError(e, 'GANTRY_INVALID_APP_NAME') && e.message.includes('lowercase'),
      n,
    );
  }
  // Validation is pure: nothing was executed.
  assert.equal(existsSync('/tmp/pwned'), false);
});

void test('messages say what is wrong', () => {
  assert.throws(() => validateAppName('Sales'), /uppercase/);
  assert.throws(() => validateAppName('a'.repeat(64)), /64 characters/);
  assert.throws(() => validateAppName('a/b'), /contains "\/"/);
  assert.throws(() => validateAppName('9lives'), /start with a lowercase letter/);
  assert.throws(() => validateAppName(42), /must be a string/);
  assert.equal(isValidAppName(undefined), false);
});
