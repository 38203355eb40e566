export type { LogLine, LogSink } from '../runtime/types.js';
