/**
 * The environment every app process gets from the platform, before its own
 * config vars. The app sees full paths (/apps/NAME/...), so frameworks are told
 * their prefix through their own variables.
 */
export function platformEnv(opts: {
  app: string;
  version: number;
  framework?: string;
  publicUrl: string;
}): Record<string, string> {
  const base = `/apps/${opts.app}/`;
  const env: Record<string, string> = {
    GANTRY_APP: opts.app,
    GANTRY_RELEASE: `v${opts.version}`,
    GANTRY_BASE_PATH: base,
    GANTRY_URL: `${opts.publicUrl}${base}`,
    // Dash: serve routes and make requests under the prefix (the app sees full paths).
    DASH_REQUESTS_PATHNAME_PREFIX: base,
    DASH_ROUTES_PATHNAME_PREFIX: base,
    // Streamlit reads its config from STREAMLIT_* variables.
    STREAMLIT_SERVER_BASE_URL_PATH: base.slice(0, -1),
    STREAMLIT_SERVER_HEADLESS: 'true',
    // Bokeh / Panel servers take --prefix; default commands pass it, custom ones can read this.
    BOKEH_PREFIX: base.slice(0, -1),
  };
  // WSGI servers (gunicorn) strip SCRIPT_NAME from PATH_INFO. Dash registers its routes
  // under the full prefix itself, so stripping would break it: Dash gets no SCRIPT_NAME.
  if (opts.framework !== 'dash') env.SCRIPT_NAME = base.slice(0, -1);
  return env;
}
