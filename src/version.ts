import { readFileSync } from 'node:fs';

/** Gantry's version from package.json (same relative path from src/ under tsx and dist/ when built). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'dev';
  } catch {
    // Running from an unusual layout: the version is informational only.
    return 'dev';
  }
}
