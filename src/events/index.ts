/**
 * App events: the history behind `gantry events -a APP` (starts, stops,
 * crashes, OOM kills, wakes, sleeps, scaling decisions, deploys) and its live view.
 */
export {
  EventLog,
  type AppEventKind,
  type EventInput,
  type EventListener,
  type EventLogOptions,
} from './log.js';
export { describeRuntimeEvent, formatDelay, type DescribedEvent } from './describe.js';
export type { AppEvent } from '../api/platform.js';
