/** server: run the Gantry platform in this process until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { loadConfig, type GantryConfig } from '../../config/index.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';

export function registerServer(program: Command, ctx: Context): void {
  program
    .command('server')
    .description('run the Gantry server (settings from GANTRY_* environment variables)')
    .option('--host <host>', 'address to listen on (GANTRY_HOST)')
    .option('--port <port>', 'port to listen on (GANTRY_PORT)')
    .option('--data-dir <dir>', 'where Gantry keeps its data (GANTRY_DATA_DIR)')
    .action(async (opts: { host?: string; port?: string; dataDir?: string }) => {
      const overrides: Partial<GantryConfig> = {};
      if (opts.host) overrides.host = opts.host;
      if (opts.dataDir) overrides.dataDir = opts.dataDir;
      if (opts.port !== undefined) {
        if (!/^\d{1,5}$/.test(opts.port) || Number(opts.port) > 65535) {
          throw new UsageError(`--port expects a port number, got "${opts.port}"`);
        }
        overrides.port = Number(opts.port);
      }
      const env = { ...ctx.io.env } as NodeJS.ProcessEnv;
      if (overrides.port !== undefined) env.GANTRY_PORT = String(overrides.port);
      if (overrides.host) env.GANTRY_HOST = overrides.host;
      const config = loadConfig(env, overrides);
      // Loaded lazily: the other commands must not pay for the whole server.
      const { startServer } = await import('../../server.js');
      const server = await startServer(config);
      ctx.out(`Gantry is listening on ${server.url} (data in ${config.dataDir})\n`);
      if (server.generatedAdminPassword) {
        ctx.out(`\nFirst start: log in as admin with password ${server.generatedAdminPassword}\n`);
        ctx.out(`  gantry login ${config.publicUrl} --username admin\n(shown only once)\n\n`);
      }
      await new Promise<void>((resolveStop) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          ctx.io.signal?.removeEventListener('abort', stop);
          resolveStop();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        ctx.io.signal?.addEventListener('abort', stop);
      });
      ctx.io.stderr.write('Shutting down...\n');
      await server.close();
    });
}
