/** Metrics: six live charts over the last hour or day (SSE `/metrics/stream`). */
import { useState } from 'react';
import { appPath } from '../api/client.js';
import { useEventStream } from '../api/sse.js';
import type { MetricPoint, MetricSeries } from '../api/types.js';
import { Button, Spinner } from '../ui/components.js';
import { bytes, ms, percent } from '../ui/format.js';
import { Chart } from './Chart.js';
import { lastIndex } from './chartmath.js';
import type { TabProps } from './shared.js';

type Range = '1h' | '24h';

interface ChartDef {
  title: string;
  series: [string, (p: MetricPoint) => number | null][];
  format: (n: number) => string;
  integer?: boolean;
  unit?: number;
}

const rate = (n: number): string =>
  n === 0 ? '0' : n < 10 ? n.toFixed(n < 1 ? 2 : 1) : String(Math.round(n));
const whole = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));

const CHARTS: ChartDef[] = [
  { title: 'Requests/s', series: [['requests/s', (p) => p.rps]], format: rate },
  {
    title: 'Latency (p50, p95)',
    series: [
      ['p50', (p) => p.p50Ms],
      ['p95', (p) => p.p95Ms],
    ],
    format: ms,
  },
  { title: 'Errors', series: [['5xx responses', (p) => p.errors]], format: whole, integer: true },
  { title: 'CPU', series: [['CPU', (p) => p.cpuPercent]], format: percent },
  { title: 'Memory', series: [['memory', (p) => p.memoryBytes]], format: bytes, unit: 1024 ** 2 },
  { title: 'Replicas', series: [['web processes', (p) => p.replicas]], format: whole, integer: true },
];

/** "Latency (p50, p95): p50 120 ms, p95 310 ms" — what the chart shows now, for screen readers. */
function summary(def: ChartDef, series: { name: string; values: (number | null)[] }[]): string {
  const parts = series.map((s) => {
    const i = lastIndex(s.values);
    const value = i < 0 ? 'no data' : def.format(s.values[i]!);
    return series.length > 1 ? `${s.name} ${value}` : value;
  });
  return `${def.title}: ${parts.join(', ')}`;
}

export function Metrics({ app }: TabProps) {
  const [range, setRange] = useState<Range>('1h');
  const [data, setData] = useState<MetricSeries | null>(null);
  const state = useEventStream(appPath(app.name, `/metrics/stream?range=${range}`), {
    series: (d) => {
      const s = d as MetricSeries;
      if (s.range === range) setData(s);
    },
  });
  const pick = (r: Range): void => {
    if (r === range) return;
    setData(null);
    setRange(r);
  };
  const times = data?.points.map((p) => p.t) ?? [];

  return (
    <section aria-labelledby="mt-title">
      <div className="m-section-head">
        <h2 id="mt-title">Metrics</h2>
        <div className="m-buttons" role="group" aria-label="Range">
          <Button aria-pressed={range === '1h'} onClick={() => pick('1h')}>
            Last hour
          </Button>
          <Button aria-pressed={range === '24h'} onClick={() => pick('24h')}>
            Last day
          </Button>
        </div>
      </div>
      {data === null ? (
        <Spinner label={state === 'closed' ? 'The metrics stream closed.' : 'Loading metrics…'} />
      ) : (
        <>
          <p className="g-hint">
            Every {data.stepSeconds >= 60 ? `${data.stepSeconds / 60} min` : `${data.stepSeconds} s`}, updated
            live.
          </p>
          <div className="m-charts">
            {CHARTS.map((def) => {
              const series = def.series.map(([name, get]) => ({ name, values: data.points.map(get) }));
              return (
                <Chart
                  key={def.title}
                  title={def.title}
                  summary={summary(def, series)}
                  times={times}
                  series={series}
                  format={def.format}
                  integer={def.integer}
                  unit={def.unit}
                />
              );
            })}
          </div>
        </>
      )}
    </section>
  );
}
