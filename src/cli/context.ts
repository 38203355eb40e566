/** What every command gets: the injected io, an API client, and app resolution. */
import { Command } from 'commander';
import { ApiClient } from './client.js';
import { requireCredentials } from './credentials.js';
import { appFromRemoteUrl, gantryRemoteUrl } from './git.js';
import { UsageError, type CliIo } from './io.js';
import { Prompter } from './prompt.js';

export class Context {
  readonly io: CliIo;
  readonly prompter: Prompter;
  #client: ApiClient | undefined;

  constructor(io: CliIo) {
    this.io = io;
    this.prompter = new Prompter(io);
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  /** A client for the logged-in server (fails with a hint when not logged in). */
  async client(): Promise<ApiClient> {
    this.#client ??= new ApiClient(await requireCredentials(this.io.env));
    return this.#client;
  }

  /** `-a NAME`, else `GANTRY_APP`, else the app of the repo's `gantry` git remote. */
  async app(opts: { app?: string }): Promise<string> {
    const name = opts.app ?? this.io.env.GANTRY_APP;
    if (name) return name;
    const remote = await gantryRemoteUrl(this.io.cwd);
    const fromRemote = remote ? appFromRemoteUrl(remote) : undefined;
    if (fromRemote) return fromRemote;
    throw new UsageError('no app given: use -a NAME (or run this inside a repo with a gantry git remote)');
  }
}

export interface AppOptions {
  app?: string;
  json?: boolean;
}

/** Adds the `-a/--app` option shared by every app command. */
export function appCommand(parent: Command, spec: string, description: string): Command {
  return parent.command(spec).description(description).option('-a, --app <name>', 'app to act on');
}
