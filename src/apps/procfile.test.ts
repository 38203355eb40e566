import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcfile, stripInlineComment } from './procfile.js';
import { isGantryError } from '../errors/index.js';

const invalid = (text: string, re: RegExp): void => {
  assert.throws(
    () => parseProcfile(text),
    (e: unknown) => isGantryError(e, 'GANTRY_INVALID_PROCFILE') && re.test(e.message),
    text,
  );
};

void test('parses a typical Procfile', () => {
  const text = [
    '# processes',
    'web: gunicorn app:server --bind 0.0.0.0:$PORT',
    '',
    'worker:   python worker.py',
    'release: python manage.py migrate',
    '   ',
    'clock-2: python clock.py',
  ].join('\n');
  assert.deepEqual(parseProcfile(text), {
    web: 'gunicorn app:server --bind 0.0.0.0:$PORT',
    worker: 'python worker.py',
    release: 'python manage.py migrate',
    'clock-2': 'python clock.py',
  });
});

void test('accepts CRLF, a BOM, no trailing newline and an empty file', () => {
  assert.deepEqual(parseProcfile('\uFEFFweb: a\r\nworker: b'), { web: 'a', worker: 'b' });
  assert.deepEqual(parseProcfile(''), {});
  assert.deepEqual(parseProcfile('# only a comment\n\n'), {});
});

void test('keeps colons, quotes and URLs in commands', () => {
  assert.deepEqual(parseProcfile('web: sh -c "echo a:b" http://x/#frag'), {
    web: 'sh -c "echo a:b" http://x/#frag',
  });
  assert.deepEqual(parseProcfile('web:python app.py'), { web: 'python app.py' });
});

void test('strips inline comments only after whitespace and outside quotes', () => {
  assert.equal(stripInlineComment('python app.py # main app'), 'python app.py');
  assert.equal(stripInlineComment('python app.py\t#x'), 'python app.py');
  assert.equal(stripInlineComment("sh -c 'echo # not a comment'"), "sh -c 'echo # not a comment'");
  assert.equal(stripInlineComment('echo "a # b" # c'), 'echo "a # b"');
  assert.equal(stripInlineComment('echo a\\ #b'), 'echo a\\ #b');
  assert.equal(stripInlineComment('echo $#'), 'echo $#');
  assert.equal(stripInlineComment('echo "unterminated # x'), 'echo "unterminated # x');
  assert.deepEqual(parseProcfile('web: python app.py # the app\n'), { web: 'python app.py' });
});

void test('rejects invalid process names, naming the line and the reason', () => {
  assert.throws(
    () => parseProcfile('# c\n\nWeb_1: python app.py'),
    (e: unknown) =>
      isGantryError(e, 'GANTRY_INVALID_PROCFILE') &&
      e.message ===
        'Procfile line 3: "Web_1" is not a valid process name (use lowercase letters, digits and dashes)',
  );
  invalid('Web: x', /line 1: "Web" is not a valid/);
  invalid('my_worker: x', /"my_worker"/);
  invalid('-web: x', /start and end with a letter or digit/);
  invalid('web-: x', /start and end/);
  invalid(`${'a'.repeat(64)}: x`, /at most 63/);
  invalid('wéb: x', /not a valid process name/);
  invalid('$(id): x', /not a valid process name/);
});

void test('rejects malformed lines, empty commands and duplicates', () => {
  invalid('web python app.py', /line 1: expected "name: command"/);
  invalid('web : x', /expected "name: command"/);
  invalid('web:', /line 1: process "web" has an empty command/);
  invalid('web:   # only a comment', /empty command/);
  invalid('web: a\r\nworker: b\r\nweb: c', /line 3: process "web" is defined twice \(first on line 1\)/);
});
