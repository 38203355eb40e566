/**
 * The API's shapes. The server's TypeScript types are the one source (type-only
 * imports: nothing of the server reaches the bundle); what the routes add on top
 * (access, owner, session) is declared here.
 */
import type { AppInfo as ServerAppInfo, AppSummary as ServerAppSummary } from '../../../src/api/platform.js';
import type {
  AuditEvent,
  GroupInfo,
  Role,
  SshKeyInfo,
  TokenInfo,
  UserInfo,
  Visibility,
} from '../../../src/identity/types.js';

export type {
  AppActivity,
  AppEvent,
  AppMeta,
  AppUsage,
  BuildInfo,
  CronJobInfo,
  CronRunInfo,
  LimitsInfo,
  MetricPoint,
  MetricSeries,
  ReleaseInfo,
  ResourceOverview,
  ScalingInfo,
  ThumbnailInfo,
} from '../../../src/api/platform.js';
export type { ProcessStatus, ResourceLimits, LogLine } from '../../../src/runtime/types.js';
export type { ScalingSettings } from '../../../src/scaler/types.js';
export type { AuditEvent, GroupInfo, Role, SshKeyInfo, TokenInfo, UserInfo, Visibility };

/** The caller's right on an app. */
export type AccessLevel = 'view' | 'manage' | 'own';

interface AccessFields {
  owner: string | null;
  visibility: Visibility;
  access: AccessLevel;
}
export type AppSummary = ServerAppSummary & AccessFields;
export type AppInfo = ServerAppInfo & AccessFields;

export interface SessionInfo {
  user: { username: string; email: string | null; role: Role; groups: string[] };
  csrfToken: string;
  expiresAt: string | null;
}

/** `user:NAME` / `group:NAME` as the API writes them. */
export type PrincipalString = string;

export interface AppAccessInfo {
  app: string;
  owner: string | null;
  visibility: Visibility;
  collaborators: PrincipalString[];
  viewers: PrincipalString[];
}

export type { SsoStatus } from '../../../src/sso/status.js';

export type AdminTokenInfo = TokenInfo & { username: string };

/** A log line as the logs stream sends it (time as ISO text). */
export interface StreamLogLine {
  time: string;
  process: string;
  text: string;
}
