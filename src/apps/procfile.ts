/**
 * Procfile parsing, as Heroku does it: one `name: command` per line.
 *
 * Process names become parts of unit names, log streams and (on Kubernetes)
 * resource names, so they must be RFC 1123 labels. We reject rather than
 * rewrite them: a silently renamed process type surprises `gantry ps:scale`.
 */
import { GantryError } from '../errors/index.js';

export const PROCESS_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const PROCESS_NAME_MAX = 63;

/** Why a process type name is invalid, or undefined when it is fine. */
export function processNameProblem(name: string): string | undefined {
  if (name.length > PROCESS_NAME_MAX)
    return `"${name}" is not a valid process name (at most ${PROCESS_NAME_MAX} characters)`;
  if (PROCESS_NAME_PATTERN.test(name)) return undefined;
  if (/^[a-z0-9-]+$/.test(name))
    return `"${name}" is not a valid process name (it must start and end with a letter or digit)`;
  return `"${name}" is not a valid process name (use lowercase letters, digits and dashes)`;
}

/**
 * Strips a trailing ` # comment`. Conservative: only a `#` preceded by
 * whitespace and outside single/double quotes starts a comment, so
 * `curl http://x/#top` and `sh -c 'echo # hi'` are kept whole.
 */
export function stripInlineComment(command: string): string {
  let quote: '"' | "'" | undefined;
  // Only unescaped, unquoted whitespace separates words; `a\ #b` is one word.
  let afterBlank = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    const wasBlank = afterBlank;
    afterBlank = false;
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (c === '\\') {
      i++; // an escaped character never opens/closes quotes or starts a comment
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (/\s/.test(c)) {
      afterBlank = true;
    } else if (c === '#' && wasBlank) {
      return command.slice(0, i).trimEnd();
    }
  }
  return command;
}

function fail(line: number, why: string): never {
  throw new GantryError('GANTRY_INVALID_PROCFILE', `Procfile line ${line}: ${why}`, {
    details: { line },
  });
}

/**
 * Parses a Procfile into process type → command. Blank and `#` lines are
 * ignored, CRLF is accepted. Throws GANTRY_INVALID_PROCFILE naming the line
 * and the reason for a malformed line, an invalid or duplicate name, or an
 * empty command.
 */
export function parseProcfile(text: string): Record<string, string> {
  const processes: Record<string, string> = {};
  const firstSeen = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([^\s:]+):(.*)$/.exec(line);
    if (!m) {
      const shown = JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
      fail(lineNo, `expected "name: command", got ${shown}`);
    }
    const name = m[1]!;
    const problem = processNameProblem(name);
    if (problem) fail(lineNo, problem);
    const command = stripInlineComment(m[2]!).trim();
    if (command === '') fail(lineNo, `process "${name}" has an empty command`);
    const seen = firstSeen.get(name);
    if (seen !== undefined) fail(lineNo, `process "${name}" is defined twice (first on line ${seen})`);
    firstSeen.set(name, lineNo);
    processes[name] = command;
  });
  return processes;
}
