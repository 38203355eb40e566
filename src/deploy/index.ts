export { Rollout, effectiveFormation, appDataPath, type RouteControl, type Active } from './rollout.js';
export { Deployer, type BuildFn, type SourceDeploy } from './deployer.js';
export { GantryPlatform, type PlatformDeps, type ThumbnailJobs } from './platform.js';
export { LiveHub, type ActivityListener } from './live.js';
export { platformEnv } from './env.js';
export { waitHealthy, probe } from './health.js';
export { ElasticOps, type ElasticDeps, type ScalingChange } from './elastic.js';
