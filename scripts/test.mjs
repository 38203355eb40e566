// Runs every test with Node's own runner: unit tests beside the code (src/**/*.test.ts, web/src/**/*.test.ts)
// end-to-end tests in test/ (test/**/*.test.ts) and the benchmarks' own helpers (bench/). Node 20's --test does not expand
// globs, so the files are listed here. Extra args are passed as file filters.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
let files = [...walk('src', []), ...walk('web/src', []), ...walk('test', []), ...walk('bench', [])].sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
