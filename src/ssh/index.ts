/** git push/fetch over SSH, authenticated by users' public keys. */
export { createSshServer, type SshServer, type SshServerOptions } from './server.js';
export { parseGitCommand, ONLY_GIT, type GitCommand } from './command.js';
