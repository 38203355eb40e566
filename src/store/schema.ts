import type { Generated } from 'kysely';

/** Timestamps are ISO-8601 strings; JSON columns are text. Same on SQLite and Postgres. */
export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  role: string;
  email: string | null;
  created_at: string;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  /** sha256 of the token, hex. The token itself is shown once and never stored. */
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}

export interface AppsTable {
  id: string;
  name: string;
  /** Unprivileged uid the app's processes run as. */
  uid: number;
  /** JSON: { [processType]: count } — the desired formation set by ps:scale. */
  formation: string;
  /** Version of the release now serving, null before the first deploy. */
  current_version: number | null;
  created_at: string;
  updated_at: string;
}

export interface ConfigVarsTable {
  app_id: string;
  key: string;
  value: string;
}

export interface SlugsTable {
  id: string;
  app_id: string;
  commit_sha: string | null;
  /** Absolute path of the slug directory. */
  path: string;
  /** JSON: SlugManifest (process types, healthchecks, scripts, buildpack). */
  manifest: string;
  created_at: string;
}

export interface ReleasesTable {
  id: string;
  app_id: string;
  version: number;
  slug_id: string | null;
  commit_sha: string | null;
  description: string;
  /** JSON: config vars snapshot. */
  config: string;
  build_id: string | null;
  created_at: string;
}

export interface BuildsTable {
  id: string;
  app_id: string;
  commit_sha: string | null;
  /** running | succeeded | failed */
  status: string;
  log: string;
  error: string | null;
  release_version: number | null;
  started_at: string;
  finished_at: string | null;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface DB {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  apps: AppsTable;
  config_vars: ConfigVarsTable;
  slugs: SlugsTable;
  releases: ReleasesTable;
  builds: BuildsTable;
  meta: MetaTable;
}

export type { Generated };
