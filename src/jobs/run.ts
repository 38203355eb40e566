/**
 * `gantry run -a APP -- CMD ARGS…`: the sandbox runs commands through
 * `/bin/sh -c` (as Procfile commands), so argv is quoted into one POSIX sh
 * command line that yields exactly those words, with nothing expanded.
 */
import { GantryError } from '../errors/index.js';

/** Words that need no quoting anywhere. `=` is left out of the first word (it would be an assignment). */
const SAFE_WORD = /^[A-Za-z0-9_./:,@%+=-]+$/;
/** Reserved words of sh (and bash/ksh), which would not be run as commands in first position. */
const RESERVED = new Set(
  'if then else elif fi do done case esac while until for in function select time coproc'.split(' '),
);

function quoteWord(word: string, first: boolean): string {
  if (word.includes('\0'))
    throw new GantryError('GANTRY_BAD_REQUEST', 'a command argument cannot contain a NUL byte');
  const plain = SAFE_WORD.test(word) && !(first && (word.includes('=') || RESERVED.has(word)));
  // Inside single quotes nothing is special; a quote itself is closed, escaped and reopened.
  return plain ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Quotes `argv` for POSIX `sh -c` so the shell runs `argv[0]` with exactly
 * the remaining words: no expansion, globbing, splitting or command
 * substitution. Simple words stay readable (`python3 report.py`).
 */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0 || argv[0] === '')
    throw new GantryError('GANTRY_BAD_REQUEST', 'a command to run is required (gantry run -a APP -- CMD …)');
  return argv.map((w, i) => quoteWord(w, i === 0)).join(' ');
}
