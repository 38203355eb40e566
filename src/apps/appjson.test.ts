import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAppJson, HEALTHCHECK_DEFAULTS } from './appjson.js';
import { isGantryError } from '../errors/index.js';
import { MAX_PROCESSES_PER_TYPE } from './limits.js';

const invalid = (text: string, re: RegExp): void => {
  assert.throws(
    () => parseAppJson(text),
    (e: unknown) => isGantryError(e, 'GANTRY_INVALID_APP_JSON') && re.test(e.message),
    text,
  );
};

void test('an empty object gives empty results', () => {
  assert.deepEqual(parseAppJson('{}'), { formation: {}, healthchecks: {}, warnings: [] });
});

void test('reads Dokku formation (max_parallel ignored) and Heroku formation (size ignored)', () => {
  const dokku = parseAppJson(
    '{"formation":{"web":{"quantity":2,"max_parallel":1},"worker":{"max_parallel":1}}}',
  );
  assert.deepEqual(dokku.formation, { web: 2 });
  const heroku = parseAppJson(
    '{"formation":{"web":{"quantity":1,"size":"standard-1X"},"worker":{"quantity":0}}}',
  );
  assert.deepEqual(heroku.formation, { web: 1, worker: 0 });
  const old = parseAppJson('{"formation":[{"process":"web","quantity":3}]}');
  assert.deepEqual(old.formation, { web: 3 });
});

void test('healthchecks get Dokku defaults', () => {
  const r = parseAppJson(
    JSON.stringify({
      healthchecks: {
        web: [
          {
            type: 'startup',
            name: 'ready',
            path: '/health',
            content: 'ok',
            attempts: 10,
            wait: 2,
            timeout: 3,
            initialDelay: 1,
          },
          { path: '/' },
          { type: 'startup', name: 'uptime only' },
        ],
      },
    }),
  );
  assert.deepEqual(r.healthchecks.web, [
    {
      type: 'startup',
      name: 'ready',
      path: '/health',
      content: 'ok',
      attempts: 10,
      wait: 2,
      timeout: 3,
      initialDelay: 1,
    },
    { type: 'startup', name: 'web startup check 2', path: '/', ...pick() },
    { type: 'startup', name: 'uptime only', path: '/', ...pick() },
  ]);
  function pick() {
    const { attempts, wait, timeout, initialDelay } = HEALTHCHECK_DEFAULTS;
    return { attempts, wait, timeout, initialDelay };
  }
  assert.equal(HEALTHCHECK_DEFAULTS.attempts, 3);
  assert.equal(HEALTHCHECK_DEFAULTS.wait, 5);
});

void test('unsupported healthcheck kinds are ignored with a warning', () => {
  const r = parseAppJson(
    '{"healthchecks":{"web":[{"name":"c","command":["true"]}],"worker":[{"name":"u","uptime":10}]}}',
  );
  assert.deepEqual(r.healthchecks, {});
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings[0]!, /command checks are not supported/);
});

void test('scripts: Dokku predeploy/postdeploy, Heroku postdeploy (string or object)', () => {
  assert.deepEqual(
    parseAppJson('{"scripts":{"dokku":{"predeploy":"python migrate.py","postdeploy":"python warm.py"}}}'),
    {
      formation: {},
      healthchecks: {},
      warnings: [],
      predeploy: 'python migrate.py',
      postdeploy: 'python warm.py',
    },
  );
  assert.equal(parseAppJson('{"scripts":{"postdeploy":"bin/seed"}}').postdeploy, 'bin/seed');
  assert.equal(
    parseAppJson('{"scripts":{"postdeploy":{"command":"bin/seed","size":"x"}}}').postdeploy,
    'bin/seed',
  );
  assert.equal(
    parseAppJson('{"scripts":{"postdeploy":"heroku","dokku":{"postdeploy":"dokku"}}}').postdeploy,
    'dokku',
  );
});

void test('cron entries', () => {
  const r = parseAppJson(
    '{"cron":[{"command":"python report.py","schedule":"0 1 * * *"},{"command":"x","schedule":"@daily"}]}',
  );
  assert.deepEqual(r.cron, [
    { command: 'python report.py', schedule: '0 1 * * *' },
    { command: 'x', schedule: '@daily' },
  ]);
  invalid(
    '{"cron":[{"command":"x","schedule":"every day"}]}',
    /^app\.json: cron\[0\]\.schedule "every day": must have 5 fields \(minute hour day-of-month month day-of-week\)/,
  );
  invalid(
    '{"cron":[{"command":"x","schedule":"@daily"},{"command":"x","schedule":"61 * * * *"}]}',
    /^app\.json: cron\[1\]\.schedule "61 \* \* \* \*": minute 61 is out of range 0-59$/,
  );
  invalid('{"cron":[{"command":"x","schedule":"* * * FOO *"}]}', /cron\[0\]\.schedule .*month "FOO" is not/);
  invalid('{"cron":[{"command":"x","schedule":"0 0 30 2 *"}]}', /cron\[0\]\.schedule .*never runs/);
  invalid('{"cron":[{"command":"x","schedule":"@reboot"}]}', /@reboot is not supported/);
  invalid(
    '{"cron":[{"command":"x","schedule":"@daily"},{"command":"x","schedule":" @daily"}]}',
    /cron\[1\] repeats cron\[0\]/,
  );
  assert.deepEqual(parseAppJson('{"cron":[{"command":"x","schedule":"*/15 9-17 * JAN-JUN mon-fri"}]}').cron, [
    { command: 'x', schedule: '*/15 9-17 * JAN-JUN mon-fri' },
  ]);
  invalid('{"cron":[{"schedule":"* * * * *"}]}', /cron\[0\]\.command must be a non-empty string/);
  invalid('{"cron":{}}', /cron must be an array/);
});

void test('bad JSON reports line and column', () => {
  invalid('{\n  "formation": {},\n}', /not valid JSON \(line 3 column 1\)/);
  invalid('', /not valid JSON \(line 1 column 1\)/);
  invalid('[1]', /the top level must be an object, got an array/);
  invalid('null', /the top level must be an object, got null/);
});

void test('wrong types are named precisely', () => {
  invalid(
    '{"formation":{"web":{"quantity":"2"}}}',
    /formation\.web\.quantity must be a whole number ≥ 0, got "2"/,
  );
  invalid('{"formation":{"web":{"quantity":-1}}}', /formation\.web\.quantity/);
  invalid('{"formation":{"web":{"quantity":1.5}}}', /formation\.web\.quantity/);
  invalid('{"formation":{"Web_1":{"quantity":1}}}', /"Web_1" is not a valid process name/);
  invalid('{"healthchecks":{"web":{"path":"/"}}}', /healthchecks\.web must be an array/);
  invalid('{"healthchecks":{"web":[{"path":"health"}]}}', /path must start with "\/"/);
  invalid(
    '{"healthchecks":{"web":[{"path":"/","type":"boot"}]}}',
    /type must be startup, liveness or readiness/,
  );
  invalid('{"healthchecks":{"web":[{"path":"/","attempts":"5"}]}}', /healthchecks\.web\[0\]\.attempts/);
  invalid('{"scripts":{"dokku":{"predeploy":42}}}', /scripts\.dokku\.predeploy must be a non-empty string/);
  invalid('{"scripts":"x"}', /scripts must be an object/);
});

void test('formation quantities are capped per type (both dialects), naming the type', () => {
  const at = parseAppJson(`{"formation":{"web":{"quantity":${MAX_PROCESSES_PER_TYPE}}}}`);
  assert.equal(at.formation.web, MAX_PROCESSES_PER_TYPE);
  invalid(
    '{"formation":{"web":{"quantity":100000}}}',
    /formation\.web\.quantity: 100000 "web" processes asked for, at most 100 per type/,
  );
  invalid(
    `{"formation":{"worker":{"quantity":${MAX_PROCESSES_PER_TYPE + 1}}}}`,
    /"worker" processes asked for, at most 100/,
  );
  invalid('{"formation":[{"process":"clock","quantity":101}]}', /formation\[0\]\.quantity: 101 "clock"/);
});
