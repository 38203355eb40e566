/** keys, keys:add, keys:remove: SSH public keys for `git push` over SSH. */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseName, parsePublicKey } from '../args.js';
import type { Context } from '../context.js';
import { ago, heading, json, table, UsageError } from '../io.js';
import { DEFAULT_SSH_PORT, sshRemoteUrl } from '../git.js';

/** Tried in this order when keys:add gets no FILE. */
export const DEFAULT_KEY_FILES = ['id_ed25519.pub', 'id_ecdsa.pub', 'id_rsa.pub'];

interface UserOption {
  user?: string;
}

const userOpt = (opts: UserOption): string | undefined =>
  opts.user === undefined ? undefined : parseName('username', opts.user);

async function readKeyFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** The given file, else the first of ~/.ssh/{id_ed25519,id_ecdsa,id_rsa}.pub. */
async function findKey(ctx: Context, file: string | undefined): Promise<{ path: string; text: string }> {
  if (file !== undefined) {
    const path = resolve(ctx.io.cwd, file);
    const text = await readKeyFile(path);
    if (text === undefined) throw new UsageError(`no such file: ${path}`);
    return { path, text };
  }
  const dir = join(ctx.io.env.HOME || homedir(), '.ssh');
  for (const name of DEFAULT_KEY_FILES) {
    const path = join(dir, name);
    const text = await readKeyFile(path);
    if (text !== undefined) return { path, text };
  }
  throw new UsageError(
    `no public key in ${dir} (tried ${DEFAULT_KEY_FILES.join(', ')}): ` +
      'give a FILE, or create a key with ssh-keygen -t ed25519',
  );
}

export function registerKeys(program: Command, ctx: Context): void {
  program
    .command('keys')
    .description("list your SSH keys (admins: anyone's, with --user)")
    .option('--user <name>', "another user's keys (admin)")
    .option('--json', 'output JSON')
    .action(async (opts: UserOption & { json?: boolean }) => {
      const user = userOpt(opts);
      const keys = await (await ctx.client()).listKeys(user);
      if (opts.json) return ctx.out(json(keys));
      if (keys.length === 0) return ctx.out('No SSH keys. Add yours with: gantry keys:add\n');
      ctx.out(heading(user ? `SSH keys of ${user}` : 'SSH keys'));
      ctx.out(
        table(
          keys.map((k) => [
            k.id,
            k.name,
            k.type,
            k.fingerprint,
            ago(k.createdAt),
            k.lastUsedAt ? ago(k.lastUsedAt) : 'never',
          ]),
          ['ID', 'Name', 'Type', 'Fingerprint', 'Added', 'Last used'],
        ),
      );
    });

  program
    .command('keys:add')
    .description(`add an SSH public key (default: ~/.ssh/${DEFAULT_KEY_FILES.join(', then ')})`)
    .argument('[file]', 'public key file (.pub)')
    .option('-n, --name <name>', 'a label for the key (default: its comment)')
    .option('--user <name>', 'add it for another user (admin)')
    .option('--json', 'output JSON')
    .action(async (file: string | undefined, opts: UserOption & { name?: string; json?: boolean }) => {
      const user = userOpt(opts);
      if (opts.name !== undefined && opts.name.trim() === '')
        throw new UsageError('--name must not be empty');
      const found = await findKey(ctx, file);
      const publicKey = parsePublicKey(found.text, found.path);
      const client = await ctx.client();
      const key = await client.addKey(
        { publicKey, ...(opts.name === undefined ? {} : { name: opts.name }) },
        user,
      );
      if (opts.json) return ctx.out(json(key));
      ctx.out(`Added SSH key ${key.name} (${key.type})\n`);
      ctx.out(`Fingerprint: ${key.fingerprint}\n`);
      const example = sshRemoteUrl(client.url, 'APP', DEFAULT_SSH_PORT);
      ctx.out(`Push over SSH: gantry git:remote --ssh -a APP  (remote ${example})\n`);
    });

  program
    .command('keys:remove')
    .description('remove an SSH key by ID or fingerprint (SHA256:…)')
    .argument('<key>', 'key ID or fingerprint')
    .option('--user <name>', "remove another user's key (admin)")
    .action(async (key: string, opts: UserOption) => {
      if (key.trim() === '') throw new UsageError('give the key ID or fingerprint (see gantry keys)');
      await (await ctx.client()).removeKey(key, userOpt(opts));
      ctx.out(`Removed SSH key ${key}\n`);
    });
}
