/**
 * The `gantry` command: Heroku/Dokku-style verbs over the HTTP API.
 * `main` never calls process.exit: it returns the exit code (and, with the
 * default io, sets process.exitCode). 0 ok, 1 failure, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { Context } from './context.js';
import { ExitStatus, processIo, UsageError, type CliIo } from './io.js';
import { registerAuth } from './commands/auth.js';
import { registerApps } from './commands/apps.js';
import { registerConfig } from './commands/config.js';
import { registerPs } from './commands/ps.js';
import { registerLogs } from './commands/logs.js';
import { registerReleases } from './commands/releases.js';
import { registerDeploy } from './commands/deploy.js';
import { registerServer } from './commands/server.js';
import { registerUsers } from './commands/users.js';
import { registerTokens } from './commands/tokens.js';
import { registerKeys } from './commands/keys.js';
import { registerAccess } from './commands/access.js';
import { registerAdmin } from './commands/admin.js';
import { registerAutoscale } from './commands/autoscale.js';
import { registerLimits } from './commands/limits.js';
import { registerEvents } from './commands/events.js';
import { registerCron } from './commands/cron.js';
import { registerRun } from './commands/run.js';
import { packageVersion } from '../version.js';

export type { CliIo } from './io.js';
export { ApiClient, ApiError } from './client.js';

function buildProgram(ctx: Context): Command {
  const program = new Command('gantry')
    .description('Deploy and run data apps on a Gantry server')
    .version(packageVersion(), '-v, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
    })
    .showHelpAfterError('(run gantry help COMMAND for usage)')
    // Options after a subcommand belong to it: `gantry run -a APP python -v` passes -v on.
    .enablePositionalOptions();
  registerAuth(program, ctx);
  registerApps(program, ctx);
  registerConfig(program, ctx);
  registerPs(program, ctx);
  registerAutoscale(program, ctx);
  registerLimits(program, ctx);
  registerLogs(program, ctx);
  registerEvents(program, ctx);
  registerRun(program, ctx);
  registerCron(program, ctx);
  registerReleases(program, ctx);
  registerDeploy(program, ctx);
  registerServer(program, ctx);
  registerUsers(program, ctx);
  registerTokens(program, ctx);
  registerKeys(program, ctx);
  registerAccess(program, ctx);
  registerAdmin(program, ctx);
  return program;
}

/** Exit code for a commander error (it has already printed its message). */
function commanderExit(e: CommanderError): number {
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
  // `gantry` alone prints the help and exits 1 in commander; it's a usage error here.
  return e.exitCode === 0 ? 0 : 2;
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

/**
 * Runs the CLI. `io` defaults to the real process; tests inject their own
 * streams, environment and cwd.
 */
export async function main(argv: string[], io?: CliIo): Promise<number> {
  const ctx = new Context(io ?? processIo());
  let code = 0;
  try {
    await buildProgram(ctx).parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      code = commanderExit(e);
    } else if (e instanceof ExitStatus) {
      code = e.code;
      if (e.message) ctx.io.stderr.write(`${oneLine(e.message)}\n`);
    } else {
      code = e instanceof UsageError ? 2 : 1;
      ctx.io.stderr.write(`error: ${oneLine(e instanceof Error ? e.message : String(e))}\n`);
    }
  } finally {
    ctx.prompter.close();
  }
  if (!io) process.exitCode = code;
  return code;
}
