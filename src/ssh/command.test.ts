import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGitCommand } from './command.js';

void test('the commands git sends for push and fetch are accepted', () => {
  const push = { service: 'git-receive-pack', app: 'demo' };
  const fetch = { service: 'git-upload-pack', app: 'demo' };
  assert.deepEqual(parseGitCommand("git-receive-pack '/demo.git'"), push);
  assert.deepEqual(parseGitCommand("git-receive-pack 'demo.git'"), push);
  assert.deepEqual(parseGitCommand('git-receive-pack demo.git'), push);
  assert.deepEqual(parseGitCommand('git receive-pack /demo'), push);
  assert.deepEqual(parseGitCommand("git receive-pack 'demo'"), push);
  assert.deepEqual(parseGitCommand("git-upload-pack '/demo.git'"), fetch);
  assert.deepEqual(parseGitCommand('git upload-pack demo.git'), fetch);
});

void test('anything else is refused', () => {
  for (const cmd of [
    '',
    'ls /',
    'sh',
    "git-upload-archive 'demo.git'",
    "git-receive-pack '/demo.git'; touch /tmp/pwned",
    "git-receive-pack '$(touch /tmp/pwned)'",
    'git-receive-pack `id`',
    "git-receive-pack '--upload-pack=touch'",
    "git-receive-pack '../demo.git'",
    "git-receive-pack '/srv/repos/demo.git'",
    "git-receive-pack '//demo.git'",
    "git-receive-pack 'Demo.git'",
    "git-receive-pack 'demo.git.git'",
    "git-receive-pack 'demo.git' extra",
    "git-receive-pack  'demo.git'",
    "git-receive-pack 'demo.git",
    "git-receive-pack demo.git'",
    "git-receive-pack 'demo.git'\n",
    "git-receive-pack 'de\nmo.git'",
    "git --exec-path=/tmp receive-pack 'demo.git'",
    "git-receive-pack '-demo'",
  ])
    assert.equal(parseGitCommand(cmd), undefined, JSON.stringify(cmd));
});
