import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log/index.js';
import { cacheKey, DepCache } from './cache.js';

const root = await mkdtemp(join(tmpdir(), 'gantry-cachetest-'));
after(() => rm(root, { recursive: true, force: true }));

void test('store/restore shares inodes; only the 3 most recently used keys survive', async () => {
  const cache = new DepCache({ root: join(root, 'c'), logger: silentLogger });
  const tree = join(root, 'tree');
  await mkdir(join(tree, 'bin'), { recursive: true });
  await writeFile(join(tree, 'bin', 'tool'), 'x');
  assert.equal(await cache.restore('k0', join(root, 'none')), false);
  for (const [i, k] of ['k1', 'k2', 'k3', 'k4'].entries()) {
    await cache.store(k, tree);
    const t = new Date(Date.now() - (10 - i) * 1000);
    await utimes(join(root, 'c', k), t, t);
  }
  await cache.prune();
  assert.deepEqual((await readdir(join(root, 'c'))).sort(), ['k2', 'k3', 'k4']);
  const dest = join(root, 'restored');
  assert.equal(await cache.restore('k3', dest), true);
  const a = await stat(join(tree, 'bin', 'tool'));
  const b = await stat(join(dest, 'bin', 'tool'));
  assert.equal(a.ino, b.ino, 'hardlinked, not copied');
  assert.notEqual(cacheKey({ a: 1 }), cacheKey({ a: 2 }));
});
