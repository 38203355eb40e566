/**
 * Refuses to run apps without a working sandbox (DESIGN: "Sandbox, not
 * trust"), unless the operator explicitly chose the unsafe development mode.
 */
import { isAbsolute } from 'node:path';
import { run, which } from '../exec/index.js';
import { GantryError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { PRIVILEGED_ENV, isRoot, resolveHelper, setHelperPath } from './sandbox.js';

export interface SandboxCheckOptions {
  unsafeNoSandbox?: boolean;
  logger: Logger;
  /**
   * bwrap executable to check (tests); default `bwrap` on Gantry's own PATH,
   * whose absolute path is then pinned for every sandbox (never looked up again).
   */
  bwrap?: string;
}

/** Throws GANTRY_SANDBOX_UNAVAILABLE unless bubblewrap is installed and works here. */
export async function assertSandboxAvailable(opts: SandboxCheckOptions): Promise<void> {
  if (opts.unsafeNoSandbox) {
    opts.logger.warn(
      'GANTRY_UNSAFE_NO_SANDBOX is set: app processes run WITHOUT a sandbox, with Gantry’s own privileges ' +
        'and full access to this machine. Use this for development only, never with code you do not trust.',
    );
    return;
  }
  const found = await which(opts.bwrap ?? 'bwrap');
  // An absolute path only: a relative PATH entry would depend on the cwd.
  const bwrap = found && isAbsolute(found) ? found : undefined;
  if (!bwrap) {
    throw new GantryError(
      'GANTRY_SANDBOX_UNAVAILABLE',
      'bubblewrap (bwrap) is not installed: install it (apt-get install bubblewrap) or set GANTRY_UNSAFE_NO_SANDBOX=1 for development only',
    );
  }
  // Installed is not enough: user namespaces may be disabled, or we may run in a container without privileges.
  const r = await run(bwrap, ['--ro-bind', '/', '/', 'true'], {
    timeoutMs: 10_000,
    env: { ...PRIVILEGED_ENV },
  });
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${r.code ?? r.signal}`;
    throw new GantryError(
      'GANTRY_SANDBOX_UNAVAILABLE',
      `bubblewrap (${bwrap}) is installed but cannot create a sandbox here: ${why}. ` +
        'Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) or run Gantry as root, ' +
        'or set GANTRY_UNSAFE_NO_SANDBOX=1 for development only',
      { details: { bwrap, exitCode: r.code, stderr: r.stderr.slice(-2000) } },
    );
  }
  // As root, the sandbox drops to the app's uid with setpriv (util-linux).
  if (isRoot()) {
    try {
      resolveHelper('setpriv');
    } catch (e) {
      throw new GantryError(
        'GANTRY_SANDBOX_UNAVAILABLE',
        'setpriv is not installed (needed to run apps under their own uid): install util-linux',
        { cause: e },
      );
    }
  }
  if (opts.bwrap === undefined) setHelperPath('bwrap', bwrap);
}
