/**
 * App metrics: time series for the web UI's charts and the `/metrics`
 * endpoint in Prometheus text format.
 */
export { MetricsRecorder, type MetricsRecorderOptions, type MetricsSources } from './recorder.js';
export { PROMETHEUS_CONTENT_TYPE, escapeLabelValue } from './prometheus.js';
export { quantile } from './histogram.js';
export type { MetricPoint, MetricSeries } from '../api/platform.js';
