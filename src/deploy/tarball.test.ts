import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, truncate, writeFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import * as tar from 'tar';
import { isGantryError } from '../errors/index.js';
import { extractTarball, type TarballLimits } from './tarball.js';

const MiB = 1024 * 1024;
const roomy: TarballLimits = { maxCompressedBytes: 64 * MiB, maxExtractedBytes: 256 * MiB, maxEntries: 1000 };

async function withDirs(fn: (src: string, dest: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'gantry-tarball-'));
  try {
    await mkdir(join(root, 'src'));
    await mkdir(join(root, 'dest'));
    await fn(join(root, 'src'), join(root, 'dest'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** A .tar.gz of `names` under `cwd`, made by node-tar (packing) and node's zlib (gzip). */
function tarGz(cwd: string, names: string[]): Readable {
  return (tar.c({ cwd, portable: true }, names) as unknown as Readable).pipe(createGzip({ level: 9 }));
}

async function duSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).blocks * 512;
  return total;
}

const rejectsTooLarge = (p: Promise<unknown>, re: RegExp): Promise<void> =>
  assert.rejects(p, (e: unknown) => isGantryError(e, 'GANTRY_PUSH_TOO_LARGE') && re.test(e.message));

void test('extracts an ordinary tarball and reports its size', async () => {
  await withDirs(async (src, dest) => {
    await mkdir(join(src, 'app'));
    await writeFile(join(src, 'app', 'main.py'), 'print("hi")\n');
    await writeFile(join(src, 'Procfile'), 'web: python app/main.py\n');
    const r = await extractTarball({ source: tarGz(src, ['Procfile', 'app']), dir: dest, limits: roomy });
    assert.equal(await readFile(join(dest, 'app', 'main.py'), 'utf8'), 'print("hi")\n');
    assert.equal(r.entries, 3);
    assert.equal(r.bytes, 12 + 24);
  });
});

void test('a gzip bomb is refused before its data reaches the disk', async () => {
  await withDirs(async (src, dest) => {
    // 256 MiB of zeros (sparse on the source side) gzips to a few hundred KiB.
    await writeFile(join(src, 'zeros'), '');
    await truncate(join(src, 'zeros'), 256 * MiB);
    const chunks: Buffer[] = [];
    for await (const c of tarGz(src, ['zeros'])) chunks.push(c as Buffer);
    const gz = Buffer.concat(chunks);
    assert.ok(gz.length < MiB, `bomb is ${gz.length} bytes`);
    const limits = { maxCompressedBytes: 4 * MiB, maxExtractedBytes: 16 * MiB, maxEntries: 1000 };
    await rejectsTooLarge(
      extractTarball({ source: Readable.from([gz]), dir: dest, limits }),
      /unpacks to more than 16 MiB/,
    );
    assert.ok((await duSize(dest)) < 16 * MiB, 'nothing near the limit was written');
  });
});

void test('the unpacked total counts across files (moderately compressible data)', async () => {
  await withDirs(async (src, dest) => {
    // Hex text compresses about 2:1, far from node-tar's own ratio guard: only our sum catches it.
    const names: string[] = [];
    for (let i = 0; i < 12; i++) {
      names.push(`f${i}`);
      await writeFile(join(src, `f${i}`), randomBytes(MiB / 2).toString('hex'));
    }
    const limits = { maxCompressedBytes: 64 * MiB, maxExtractedBytes: 10 * MiB, maxEntries: 1000 };
    await rejectsTooLarge(
      extractTarball({ source: tarGz(src, names), dir: dest, limits }),
      /more than 10 MiB/,
    );
    assert.ok((await duSize(dest)) <= 10 * MiB);
  });
});

void test('too many entries are refused', async () => {
  await withDirs(async (src, dest) => {
    const names: string[] = [];
    for (let i = 0; i < 300; i++) {
      names.push(`e${i}`);
      await writeFile(join(src, `e${i}`), '');
    }
    const limits = { ...roomy, maxEntries: 100 };
    await rejectsTooLarge(
      extractTarball({ source: tarGz(src, names), dir: dest, limits }),
      /more than 100 files and directories/,
    );
    assert.ok((await readdir(dest)).length <= 100);
  });
});

void test('the compressed size is still capped, and garbage is a bad request', async () => {
  await withDirs(async (src, dest) => {
    await writeFile(join(src, 'noise'), randomBytes(2 * MiB));
    const limits = { ...roomy, maxCompressedBytes: MiB };
    await rejectsTooLarge(
      extractTarball({ source: tarGz(src, ['noise']), dir: dest, limits }),
      /larger than the 1 MiB limit/,
    );
    await assert.rejects(
      extractTarball({
        source: Readable.from([Buffer.from('not a tarball at all')]),
        dir: dest,
        limits: roomy,
      }),
      (e: unknown) => isGantryError(e, 'GANTRY_BAD_REQUEST'),
    );
  });
});

void test('a truncated upload is a bad request, and the extraction settles first', async () => {
  await withDirs(async (src, dest) => {
    await writeFile(join(src, 'noise'), randomBytes(256 * 1024));
    const chunks: Buffer[] = [];
    for await (const c of tarGz(src, ['noise'])) chunks.push(c as Buffer);
    const gz = Buffer.concat(chunks);
    await assert.rejects(
      extractTarball({ source: Readable.from([gz.subarray(0, gz.length / 2)]), dir: dest, limits: roomy }),
      (e: unknown) => isGantryError(e, 'GANTRY_BAD_REQUEST') && /not a valid \.tar\.gz/.test(e.message),
    );
  });
});
