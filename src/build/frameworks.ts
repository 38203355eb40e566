/**
 * Which Python web framework an app uses, and how to start it when the
 * Procfile does not say. Detection reads imports of the entry file first,
 * then the declared requirements; order matters because frameworks depend on
 * each other (Dash pulls in Flask, Panel pulls in Bokeh).
 */

export const PY_FRAMEWORKS = ['dash', 'streamlit', 'panel', 'bokeh', 'flask'] as const;
export type PyFramework = (typeof PY_FRAMEWORKS)[number];

/** Requirement names mentioned in requirements.txt / pyproject text, normalised (PEP 503). */
export function requirementNames(text: string): Set<string> {
  const names = new Set<string>();
  const add = (n: string): void => {
    names.add(n.toLowerCase().replace(/[._]+/g, '-'));
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '' || line.startsWith('-')) continue;
    if (/^[A-Za-z0-9]/.test(line)) {
      // requirements.txt: `Dash[diskcache]>=2.0 ; python_version > "3"` → the name before any marker
      const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(line.split(';')[0]!.trim());
      if (m && !/^\S+\s*=\s*[[{"']/.test(line)) add(m[1]!);
      if (!/=\s*\[/.test(line)) continue;
    }
    // pyproject.toml: `dependencies = ["streamlit>=1.30", "numpy"]` or one quoted requirement per line
    for (const m of line.matchAll(/["']\s*([A-Za-z0-9][A-Za-z0-9._-]*)/g)) add(m[1]!);
  }
  return names;
}

/** Top-level modules imported by Python source (best effort, regex). */
export function importedModules(source: string): Set<string> {
  const mods = new Set<string>();
  for (const m of source.matchAll(
    /^\s*(?:from\s+([A-Za-z_][\w]*)[\w.]*\s+import|import\s+([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*))/gm,
  )) {
    if (m[1]) mods.add(m[1]);
    else for (const part of m[2]!.split(',')) mods.add(part.trim().split('.')[0]!);
  }
  return mods;
}

export function detectPyFramework(opts: {
  requirements: string;
  entrySource?: string;
}): PyFramework | undefined {
  const imports = opts.entrySource ? importedModules(opts.entrySource) : new Set<string>();
  const found = PY_FRAMEWORKS.find((f) => imports.has(f));
  if (found) return found;
  const reqs = requirementNames(opts.requirements);
  return PY_FRAMEWORKS.find((f) => reqs.has(f));
}

/**
 * The default `web` command. `$PORT` and `$GANTRY_BASE_PATH` are expanded by
 * the shell inside the sandbox at run time. `hasGunicorn` says whether the
 * venv (including system site-packages) can import gunicorn.
 */
export function defaultPyWeb(
  framework: PyFramework | undefined,
  entry: string,
  hasGunicorn: boolean,
): string {
  const module = entry.replace(/\.py$/, '');
  switch (framework) {
    case 'dash':
      return hasGunicorn ? `gunicorn ${module}:server --bind 0.0.0.0:$PORT` : `python ${entry}`;
    case 'flask':
      return hasGunicorn ? `gunicorn ${module}:app --bind 0.0.0.0:$PORT` : `python ${entry}`;
    case 'streamlit':
      return `streamlit run ${entry} --server.port $PORT --server.address 0.0.0.0 --server.baseUrlPath $GANTRY_BASE_PATH --server.headless true`;
    case 'bokeh':
      return `bokeh serve --port $PORT --address 0.0.0.0 --allow-websocket-origin '*' --prefix $GANTRY_BASE_PATH ${entry}`;
    case 'panel':
      return `panel serve --port $PORT --address 0.0.0.0 --allow-websocket-origin '*' --prefix $GANTRY_BASE_PATH ${entry}`;
    default:
      return `python ${entry}`;
  }
}
