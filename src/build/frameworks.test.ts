import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPyWeb, detectPyFramework, importedModules, requirementNames } from './frameworks.js';
import { detectBuildpack } from './detect.js';
import { lastLine } from './runner.js';

void test('requirement names are normalised and markers/extras ignored', () => {
  const names = requirementNames(
    'Dash[diskcache]>=2.0 ; python_version > "3"\n# flask\npandas==2.1\nscikit_learn\n-r other.txt\ngunicorn  # server\n',
  );
  assert.deepEqual([...names].filter((n) => n !== 'r' && n !== 'other-txt').sort(), [
    'dash',
    'gunicorn',
    'pandas',
    'scikit-learn',
  ]);
  assert.ok(requirementNames('dependencies = ["streamlit>=1.30", "numpy"]').has('streamlit'));
  assert.ok(!requirementNames('dashboard-tools\n').has('dash'));
});

void test('imports are read from source', () => {
  const mods = importedModules(
    'import os, sys\nfrom dash import html\nimport panel as pn\n  import bokeh.plotting\n# import flask\n',
  );
  assert.ok(mods.has('dash') && mods.has('panel') && mods.has('bokeh') && mods.has('os'));
  assert.ok(!mods.has('flask'));
});

void test('framework priority: imports first, Dash before Flask, Panel before Bokeh', () => {
  assert.equal(detectPyFramework({ requirements: 'flask\ndash\n' }), 'dash');
  assert.equal(detectPyFramework({ requirements: 'bokeh\npanel\n' }), 'panel');
  assert.equal(
    detectPyFramework({ requirements: 'dash\n', entrySource: 'import streamlit as st\n' }),
    'streamlit',
  );
  assert.equal(detectPyFramework({ requirements: 'numpy\n' }), undefined);
});

void test('default web commands', () => {
  assert.equal(defaultPyWeb('dash', 'app.py', true), 'gunicorn app:server --bind 0.0.0.0:$PORT');
  assert.equal(defaultPyWeb('dash', 'app.py', false), 'python app.py');
  assert.equal(defaultPyWeb('flask', 'main.py', true), 'gunicorn main:app --bind 0.0.0.0:$PORT');
  assert.match(
    defaultPyWeb('streamlit', 'app.py', false),
    /^streamlit run app\.py --server\.port \$PORT .*--server\.baseUrlPath \$GANTRY_BASE_PATH/,
  );
  assert.match(defaultPyWeb('bokeh', 'app.py', false), /^bokeh serve .*--prefix \$GANTRY_BASE_PATH app\.py$/);
  assert.match(defaultPyWeb('panel', 'app.py', false), /^panel serve .*--allow-websocket-origin '\*'/);
  assert.equal(defaultPyWeb(undefined, 'main.py', false), 'python main.py');
});

void test('buildpack detection order', () => {
  const d = (files: string[], procfileWeb = false): string | undefined =>
    detectBuildpack({ has: (f) => files.includes(f), hasProcfile: files.includes('Procfile'), procfileWeb });
  assert.equal(d(['requirements.txt', 'package.json']), 'python');
  assert.equal(d(['uv.lock']), 'python');
  assert.equal(d(['package.json', 'index.html']), 'node');
  assert.equal(d(['ui.R', 'server.R']), 'r');
  assert.equal(d(['ui.R']), undefined);
  assert.equal(d(['index.html']), 'static');
  assert.equal(d(['index.html', 'Procfile'], true), 'procfile');
  assert.equal(d(['.static', 'Procfile'], true), 'static');
  assert.equal(d(['Procfile']), 'procfile');
  assert.equal(d([]), undefined);
});

void test('the failure summary prefers the last error line', () => {
  assert.equal(
    lastLine({ stdout: 'a\n', stderr: 'ERROR: real reason\nCheck the permissions.\n' }),
    'ERROR: real reason',
  );
  assert.equal(
    lastLine({
      stdout: '',
      stderr: 'npm error code E404\nnpm error A complete log of this run can be found in: x\n',
    }),
    'npm error code E404',
  );
  assert.equal(lastLine({ stdout: 'only\n', stderr: '' }), 'only');
});
