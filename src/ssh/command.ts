/**
 * The only commands the SSH server runs: what git sends as the exec request
 * for `git push` / `git clone` / `git fetch`. Pure and strict: anything else is
 * refused before an app name reaches the git service (which validates it again).
 */
import { isValidAppName } from '../apps/index.js';

export interface GitCommand {
  service: 'git-receive-pack' | 'git-upload-pack';
  app: string;
}

/** Told to anyone who asks for a shell or any other command. */
export const ONLY_GIT = 'gantry: only git push/fetch is supported over SSH';

/**
 * Parses `git-receive-pack '/NAME.git'`, `git-receive-pack 'NAME.git'`,
 * `git receive-pack NAME.git` (quotes and `.git` optional, one leading slash
 * allowed), and the same for upload-pack. Returns undefined for anything else,
 * including an invalid app name.
 */
export function parseGitCommand(command: string): GitCommand | undefined {
  const m = /^git[- ](receive-pack|upload-pack) (?:'([^']*)'|([^'\s]*))$/.exec(command);
  if (!m) return undefined;
  let path = m[2] ?? m[3] ?? '';
  if (path.startsWith('/')) path = path.slice(1);
  if (path.endsWith('.git')) path = path.slice(0, -4);
  if (!isValidAppName(path)) return undefined;
  return { service: m[1] === 'receive-pack' ? 'git-receive-pack' : 'git-upload-pack', app: path };
}
