import { pino, type Logger } from 'pino';

export type { Logger };

/** The one structured logger. Level from GANTRY_LOG_LEVEL (default info; silent in tests). */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  const level = opts.level ?? process.env.GANTRY_LOG_LEVEL ?? 'info';
  return pino({ level, name: opts.name ?? 'gantry', base: undefined });
}

export const silentLogger: Logger = pino({ level: 'silent' });
