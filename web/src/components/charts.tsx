// History charts (Chart.js, only the bar parts registered): recognitions per hour or day, known and unknown
// stacked, and per camera. Each chart has its numbers as a table too (for screen readers and exact values).
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

const KNOWN = '#2e7d32';
const UNKNOWN = '#b0413e';

export interface Series {
  labels: string[];
  known: number[];
  unknown: number[];
}

function StackedBars(props: { title: string; series: Series; horizontal?: boolean; id: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | undefined>(undefined);
  useEffect(() => {
    if (!canvas.current) return;
    chart.current?.destroy();
    chart.current = new Chart(canvas.current, {
      type: 'bar',
      data: {
        labels: props.series.labels,
        datasets: [
          { label: 'known', data: props.series.known, backgroundColor: KNOWN, stack: 's', maxBarThickness: 56 },
          { label: 'unknown', data: props.series.unknown, backgroundColor: UNKNOWN, stack: 's', maxBarThickness: 56 },
        ],
      },
      options: {
        indexAxis: props.horizontal ? 'y' : 'x',
        animation: false,
        maintainAspectRatio: false,
        responsive: true,
        scales: {
          x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 12 }, beginAtZero: true },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: 'bottom' } },
      },
    });
    return () => {
      chart.current?.destroy();
      chart.current = undefined;
    };
  }, [props.series, props.horizontal]);
  return (
    <figure class="chart" aria-labelledby={`${props.id}-caption`}>
      <figcaption id={`${props.id}-caption`}>{props.title}</figcaption>
      <div class="chart-box">
        <canvas ref={canvas} role="img" aria-label={`${props.title}: bar chart (the table below has the numbers)`} />
      </div>
      <details>
        <summary>Numbers</summary>
        <table class="table compact">
          <thead>
            <tr>
              <th scope="col">{props.horizontal ? 'Camera' : 'Time'}</th>
              <th scope="col" class="num">
                Known
              </th>
              <th scope="col" class="num">
                Unknown
              </th>
            </tr>
          </thead>
          <tbody>
            {props.series.labels.map((l, i) => (
              <tr key={l + i}>
                <td>{l}</td>
                <td class="num">{props.series.known[i]}</td>
                <td class="num">{props.series.unknown[i]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

export function TimeChart(props: { series: Series; bucket: 'hour' | 'day' }) {
  return <StackedBars id="per-time" title={`Recognitions per ${props.bucket}, known and unknown`} series={props.series} />;
}

export function CameraChart(props: { series: Series }) {
  return <StackedBars id="per-camera" title="Recognitions per camera" series={props.series} horizontal />;
}
