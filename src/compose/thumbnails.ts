/**
 * Portal pictures as the app's owner sees them: the snapshots module's capture
 * queue, given a short session of the owner (never audited as a login) and the
 * server's own loopback address. Kept out of server.ts to keep that file a list
 * of parts.
 */
import type { GantryConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { Directory } from '../identity/types.js';
import { Browser, ThumbnailService } from '../snapshots/index.js';

export interface ThumbnailWiring {
  config: GantryConfig;
  logger: Logger;
  directory: Directory;
  cookieName: string;
  /** Saves a capture (the platform's storeCapturedThumbnail; called only after startup). */
  store: (app: string, image: Buffer, contentType: 'image/jpeg' | 'image/png') => Promise<unknown>;
}

/** How this server reaches itself: wildcard listen addresses become loopback. */
export function loopbackUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** The capture service, or undefined when thumbnails are turned off (GANTRY_THUMBNAILS=0). */
export function createThumbnails(w: ThumbnailWiring): ThumbnailService | undefined {
  if (!w.config.thumbnails) return undefined;
  const base = loopbackUrl(w.config.host, w.config.port);
  return new ThumbnailService({
    browser: new Browser({ logger: w.logger, executablePath: w.config.chromiumPath }),
    logger: w.logger,
    appUrl: (app) => `${base}/apps/${encodeURIComponent(app)}/`,
    sessionFor: async (app) => {
      const owner = w.directory.appAccess(app)?.owner;
      const user = owner ? w.directory.getUser(owner) : undefined;
      // No owner: the picture shows what anonymous visitors see (a public app, or the sign-in page).
      if (!user) return null;
      const s = await w.directory.createSession(user.id, {
        ip: null,
        userAgent: 'gantry-thumbnails',
        provider: 'thumbnail',
        ttlMs: 120_000,
      });
      const id = s.identity.session?.id;
      return {
        cookie: { name: w.cookieName, value: s.cookie },
        end: async () => {
          if (id) await w.directory.endSession(id, null);
        },
      };
    },
    store: w.store,
  });
}
