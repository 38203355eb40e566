/** deploy [DIR]: pack, upload, stream the build output, fail on a failed deploy. */
import type { Command } from 'commander';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEPLOY_FAILED, DEPLOY_OK } from '../../api/index.js';
import { appCommand, type AppOptions, type Context } from '../context.js';
import { UsageError } from '../io.js';
import { packSource } from '../tarball.js';

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** Remembers only the last complete line of a stream. */
class LastLine {
  #partial = '';
  #last = '';
  push(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    const complete = lines.filter((l) => l.trim() !== '');
    if (complete.length > 0) this.#last = complete.at(-1)!;
  }
  get value(): string {
    return this.#partial.trim() !== '' ? this.#partial : this.#last;
  }
}

export function registerDeploy(program: Command, ctx: Context): void {
  appCommand(program, 'deploy', 'build and deploy a directory (default: the current one)')
    .argument('[dir]', 'source directory')
    .action(async (dirArg: string | undefined, opts: AppOptions) => {
      const dir = resolve(ctx.io.cwd, dirArg ?? '.');
      const st = await stat(dir).catch(() => undefined);
      if (!st?.isDirectory()) throw new UsageError(`not a directory: ${dir}`);
      const app = await ctx.app(opts);
      const client = await ctx.client();

      const tmp = await mkdtemp(join(tmpdir(), 'gantry-deploy-'));
      try {
        const file = join(tmp, 'source.tar.gz');
        const count = await packSource({ dir, file });
        if (count === 0) throw new UsageError(`nothing to deploy in ${dir}`);
        const blob = await openAsBlob(file, { type: 'application/gzip' });
        ctx.out(`-----> Uploading ${count} file${count === 1 ? '' : 's'} (${size(blob.size)}) to ${app}\n`);
        const last = new LastLine();
        for await (const chunk of client.deploy(app, blob)) {
          ctx.out(chunk);
          last.push(chunk);
        }
        const outcome = last.value;
        if (outcome.startsWith(DEPLOY_OK)) return;
        if (outcome.startsWith(DEPLOY_FAILED)) {
          throw new Error(`deploy failed: ${outcome.slice(DEPLOY_FAILED.length)}`);
        }
        throw new Error('deploy outcome unknown: the connection ended early (check gantry builds)');
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
}
