import type { Generated } from 'kysely';

/** Timestamps are ISO-8601 strings; JSON columns are text. Same on SQLite and Postgres. */
export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  role: string;
  email: string | null;
  created_at: string;
  /** `local`, or the SSO provider that created the user. SSO users have an empty password_hash. */
  source: string;
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
  /** `full`, `read` (GET/HEAD only) or `app:NAME` (deploy and manage one app only). */
  scope: string;
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
  /** Owner's user id; null when the owner was deleted (admins still manage it). */
  owner_id: string | null;
  /** `public` | `authenticated` | `restricted`. */
  visibility: string;
  /** JSON ScalingSettings overrides (src/scaler): only what the user set; defaults come from config. */
  scaling: Generated<string>;
  /** JSON { [processType]: ResourceLimits } set with limits:set (bytes, cores, count). */
  limits: Generated<string>;
  /** Portal display name; null shows the app's name. */
  title: string | null;
  /** Portal description ('' when unset). */
  description: Generated<string>;
  /** JSON string[] of lower-case portal tags. */
  tags: Generated<string>;
}

/** Values are AES-256-GCM ciphertext (see src/secrets), never plain text. */
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

/** Groups of users; `source` is `local` or the SSO provider that maps into it. */
export interface GroupsTable {
  id: string;
  name: string;
  source: string;
  created_at: string;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  /** Who made the membership: `local` (an admin) or the SSO provider whose login maps it. */
  source: string;
}

/**
 * Who may do what to an app besides its owner: `collaborator` (deploy and configure)
 * or `viewer` (open it when its visibility is `restricted`). Principal is a user or a group.
 */
export interface AppGrantsTable {
  app_id: string;
  kind: 'collaborator' | 'viewer';
  principal_kind: 'user' | 'group';
  principal_id: string;
  created_at: string;
}

export interface SessionsTable {
  /** sha256 of the cookie value, hex. */
  id: string;
  user_id: string;
  /** Per-session CSRF token (sent back in X-CSRF-Token for cookie-authenticated writes). */
  csrf: string;
  created_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  /** `password` or the SSO provider's name. */
  provider: string;
}

export interface SshKeysTable {
  id: string;
  user_id: string;
  name: string;
  /** `SHA256:…` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** One line, `TYPE BASE64 [comment]`. */
  public_key: string;
  created_at: string;
  last_used_at: string | null;
}

export interface AuditLogTable {
  id: string;
  at: string;
  /** Username of who did it; null for anonymous (failed logins) and the system. */
  actor: string | null;
  action: string;
  /** What it was done to: `app:NAME`, `user:NAME`, `group:NAME`, `token:ID` … */
  target: string | null;
  ip: string | null;
  /** JSON object with details (never secret values). */
  detail: string;
}

/** What happened to an app's processes: starts, crashes, OOM kills, wakes, sleeps, scaling decisions. */
export interface AppEventsTable {
  id: string;
  app_id: string;
  /** ISO time. */
  at: string;
  /** See AppEventKind in src/events. */
  kind: string;
  /** `APP.TYPE.N`, or null for app-wide events (wake, sleep, scale). */
  process: string | null;
  /** One human sentence, e.g. "out of memory: web.1 exceeded its 512 MB limit". */
  message: string;
}

/** An app's portal picture: captured after a deploy (`auto`) or uploaded by its owner (`upload`). */
export interface AppThumbnailsTable {
  app_id: string;
  source: string;
  /** image/png, image/jpeg or image/webp. */
  content_type: string;
  /** The image bytes, base64. */
  image: string;
  /** Short content hash: the HTTP ETag and the cache-busting `?v=` of its URL. */
  etag: string;
  updated_at: string;
}

/** One run of an app.json cron entry (scheduled or `cron:run`). */
export interface CronRunsTable {
  id: string;
  app_id: string;
  /** Stable id of the entry: a hash of schedule + command (see src/jobs). */
  job_id: string;
  schedule: string;
  command: string;
  /** `schedule` | `manual`. */
  trigger: string;
  /** `running` | `succeeded` | `failed` | `skipped` (previous run still going). */
  status: string;
  started_at: string;
  finished_at: string | null;
  exit_code: number | null;
  /** Last ~16 KiB of output. */
  output: string;
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
  groups: GroupsTable;
  group_members: GroupMembersTable;
  app_grants: AppGrantsTable;
  sessions: SessionsTable;
  ssh_keys: SshKeysTable;
  audit_log: AuditLogTable;
  app_events: AppEventsTable;
  cron_runs: CronRunsTable;
  app_thumbnails: AppThumbnailsTable;
}

export type { Generated };
