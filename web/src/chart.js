// Chart.js charts as Preact components. Only the pieces used are registered, to keep the
// bundle small.
import { useEffect, useRef } from 'preact/hooks';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { html } from './html.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily || 'system-ui';
Chart.defaults.animation = false;

/** Colours for series, chosen to stay distinct for readers with colour-vision deficiencies. */
export const PALETTE = ['#2563eb', '#ea580c', '#059669', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#4b5563', '#db2777', '#65a30d'];

/** A chart of `type` ('bar' or 'line'); `label` describes it for screen readers. */
export function ChartView({ type, data, options = {}, label, height = 220 }) {
  const canvas = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    chart.current = new Chart(canvas.current, {
      type,
      data,
      options: { responsive: true, maintainAspectRatio: false, ...options },
    });
    return () => chart.current.destroy();
  }, [type]);
  useEffect(() => {
    if (!chart.current) return;
    chart.current.data = data;
    chart.current.options = { responsive: true, maintainAspectRatio: false, ...options };
    chart.current.update();
  }, [JSON.stringify(data), JSON.stringify(options)]);
  return html`<div class="chart" style=${`height:${height}px`}>
    <canvas ref=${canvas} role="img" aria-label=${label}></canvas>
  </div>`;
}

/** Bars of `values` per `labels`; horizontal when there are many or long labels. */
export function BarChart({ labels, values, label, horizontal = false, height, color = PALETTE[0] }) {
  const data = { labels, datasets: [{ label, data: values, backgroundColor: color }] };
  const options = {
    indexAxis: horizontal ? 'y' : 'x',
    plugins: { legend: { display: false } },
    scales: { [horizontal ? 'x' : 'y']: { beginAtZero: true } },
  };
  const size = height ?? (horizontal ? Math.max(120, labels.length * 24 + 40) : 220);
  return html`<${ChartView} type="bar" data=${data} options=${options} label=${label} height=${size} />`;
}
