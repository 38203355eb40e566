/**
 * A small line chart in SVG, drawn at the width it gets (no scaling of text),
 * with y-axis labels, start/middle/end times and a legend for several series.
 * The figure's text summary is the SVG's accessible name.
 */
import { useLayoutEffect, useRef, useState } from 'react';
import { lastIndex, linePath, maxOf, niceCeil } from './chartmath.js';

export interface ChartSeries {
  name: string;
  values: (number | null)[];
}

const HEIGHT = 150;
const PAD = { top: 10, right: 12, bottom: 22, left: 56 };

function useWidth(fallback: number) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(fallback);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth || fallback);
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(Math.max(160, Math.floor(entry.contentRect.width)));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [fallback]);
  return { ref, width };
}

const clock = (t: number): string =>
  new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });

export function Chart({
  title,
  summary,
  times,
  series,
  format,
  integer = false,
  unit = 1,
}: {
  title: string;
  summary: string;
  times: number[];
  series: ChartSeries[];
  format: (n: number) => string;
  /** Whole-number quantities (replicas, errors): no half ticks. */
  integer?: boolean;
  /** Round the axis in these units (1 MiB for memory). */
  unit?: number;
}) {
  const { ref, width } = useWidth(320);
  const max = niceCeil(maxOf(series.map((s) => s.values)) / unit) * unit;
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const n = times.length;
  const x = (i: number): number => PAD.left + (n <= 1 ? plotW : (i / (n - 1)) * plotW);
  const y = (v: number): number => PAD.top + plotH - (v / max) * plotH;
  const mid = max / 2;
  const ticks = integer && !Number.isInteger(mid) ? [0, max] : [0, mid, max];
  const labels = n === 0 ? [] : n === 1 ? [0] : [0, Math.floor((n - 1) / 2), n - 1];

  return (
    <figure className="g-card m-chart">
      <figcaption>{title}</figcaption>
      <div ref={ref} className="m-chart-box">
        <svg role="img" aria-label={summary} width={width} height={HEIGHT} viewBox={`0 0 ${width} ${HEIGHT}`}>
          {ticks.map((t) => (
            <g key={t} className="m-axis">
              <line x1={PAD.left} x2={width - PAD.right} y1={y(t)} y2={y(t)} />
              <text x={PAD.left - 6} y={y(t)} dy="0.32em" textAnchor="end">
                {t === 0 ? '0' : format(t)}
              </text>
            </g>
          ))}
          {labels.map((i, k) => (
            <text
              key={i}
              className="m-axis"
              x={x(i)}
              y={HEIGHT - 6}
              textAnchor={k === 0 && labels.length > 1 ? 'start' : k === labels.length - 1 ? 'end' : 'middle'}
            >
              {clock(times[i]!)}
            </text>
          ))}
          {series.map((s, k) => {
            const last = lastIndex(s.values);
            return (
              <g key={s.name} className={`m-series m-s${k}`}>
                <path d={linePath(s.values, x, y)} />
                {last >= 0 && <circle cx={x(last)} cy={y(s.values[last]!)} r={2.5} />}
              </g>
            );
          })}
        </svg>
      </div>
      {series.length > 1 && (
        <ul className="m-legend" aria-hidden="true">
          {series.map((s, k) => (
            <li key={s.name} className={`m-s${k}`}>
              {s.name}
            </li>
          ))}
        </ul>
      )}
      {n === 0 && <p className="g-hint">No data yet.</p>}
    </figure>
  );
}
