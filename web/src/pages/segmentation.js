// One segmentation: its segments, personas, model, refit and history of sizes.
import { html } from '../html.js';
import { useQuery } from '../hooks.js';
import { download } from '../api.js';
import { href } from '../router.js';
import { BarChart, ChartView, PALETTE } from '../chart.js';
import { Badge, Card, ErrorBox, Loading, PageHeader } from '../ui.js';
import { count, dateTime, day, duration, share } from '../format.js';
import { RefitControl } from './refit.js';
import { ModelView } from './model.js';
import { Personas } from './personas.js';

const SEGMENTATION = `query Segmentation($id: ID!) {
  segmentation(id: $id) {
    id name strategy params mode status error degradedSince refreshIntervalSeconds lastRefreshedAt createdAt model
    segments { id label size description membersCsvPath }
    job { id status customersDone customersTotal durationMs startedAt finishedAt error }
    jobs(first: 10) { id status reason entered exited durationMs startedAt }
    personas {
      segment size share averageIncome revenueShare profitShare
      ages { value customers } genders { value customers } incomes { value customers }
      topCities { value customers }
      topNeeds { tag customers share lift }
      rfm { buyers recencyDays frequency monetary }
    }
    sizeHistory(bucket: DAY) { at segments { label size } }
  }
}`;

/** How many segments the history chart draws (the largest now). */
const HISTORY_SERIES = 10;

function SizeHistory({ points, segments }) {
  if (points.length === 0) return html`<p class="empty">No history yet.</p>`;
  const drawn = segments.slice(0, HISTORY_SERIES).map((segment) => segment.label);
  const datasets = drawn.map((label, index) => ({
    label,
    data: points.map((point) => point.segments.find((s) => s.label === label)?.size ?? 0),
    borderColor: PALETTE[index % PALETTE.length],
    backgroundColor: PALETTE[index % PALETTE.length],
    tension: 0.2,
  }));
  const data = { labels: points.map((point) => day(point.at)), datasets };
  return html`<${ChartView} type="line" data=${data} height=${260}
    options=${{ scales: { y: { beginAtZero: true } }, plugins: { legend: { position: 'bottom' } } }}
    label=${`Segment sizes per day, ${points.length} days, for ${drawn.join(', ')}`} />`;
}

function Segments({ segmentation }) {
  const segments = segmentation.segments;
  const total = segments.reduce((sum, segment) => sum + segment.size, 0);
  return html`
    ${segments.length > 0 && html`<${BarChart} horizontal labels=${segments.map((s) => s.label)} values=${segments.map((s) => s.size)}
      label=${`Segment sizes: ${segments.map((s) => `${s.label} ${s.size}`).join(', ')}`} />`}
    <div class="table-scroll"><table class="segments" id="segments-table">
      <thead><tr><th scope="col">Segment</th><th scope="col" class="num">Members</th><th scope="col" class="num">Share</th><th scope="col">About</th><th scope="col">Export</th></tr></thead>
      <tbody>
        ${segments.map((segment) => html`<tr data-segment=${segment.label}>
          <th scope="row"><a href=${href('segmentations', segmentation.id, 'members', segment.label)}>${segment.label}</a></th>
          <td class="num">${count(segment.size)}</td>
          <td class="num">${share(total ? segment.size / total : 0)}</td>
          <td class="description">${segment.description ?? ''}</td>
          <td><a href=${segment.membersCsvPath} download=${`${segment.label}.csv`}
            onClick=${(event) => { event.preventDefault(); download(segment.membersCsvPath, `${segment.label}.csv`).catch((error) => alert(error.message)); }}>CSV</a></td>
        </tr>`)}
      </tbody>
    </table></div>
    ${segments.length === 0 && html`<p class="empty">No segments yet.</p>`}`;
}

/** The segmentation page. */
export function SegmentationPage({ id }) {
  const { data, error, reload } = useQuery(SEGMENTATION, { id });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  const segmentation = data.segmentation;
  if (!segmentation) return html`<${PageHeader} title="Segmentation not found" /><p>No segmentation has id ${id}. <a href="#/">Back to the overview</a>.</p>`;
  const hasCommunities = Array.isArray(segmentation.model?.summaries);
  return html`
    <${PageHeader} title=${segmentation.name}
      subtitle=${`${segmentation.strategy} · ${segmentation.mode.toLowerCase()} · created ${dateTime(segmentation.createdAt)}${segmentation.refreshIntervalSeconds ? ` · refits every ${duration(segmentation.refreshIntervalSeconds * 1000)}` : ''}`}>
      <${Badge} value=${segmentation.status} />
      ${hasCommunities && html`<a class="button secondary" href=${href('segmentations', segmentation.id, 'communities')}>Communities</a>`}
      <a class="button secondary" href=${`#/overlap?a=${encodeURIComponent(segmentation.id)}`}>Overlap</a>
    <//>
    ${segmentation.status === 'DEGRADED'
      ? html`<div class="error degraded" role="alert"><strong>Degraded since ${dateTime(segmentation.degradedSince)}.</strong>
          Re-assigning customers after writes failed, so some members may be stale; Kindred is refitting
          it to repair it. ${segmentation.error}</div>`
      : segmentation.error && html`<div class="error" role="alert">${segmentation.error}</div>`}
    <div class="two-columns">
      <${Card} title="Segments" id="segments"><${Segments} segmentation=${segmentation} /><//>
      <div>
        <${Card} title="Refit" id="refit-card"><${RefitControl} segmentation=${segmentation} onFinished=${reload} /><//>
        <${Card} title="Model" id="model"><${ModelView} model=${segmentation.model} />
          <details><summary>Parameters</summary><pre>${JSON.stringify(segmentation.params, null, 2)}</pre></details>
        <//>
      </div>
    </div>
    <${Card} title="Personas" id="personas"><${Personas} personas=${segmentation.personas} /><//>
    <${Card} title="Sizes over time" id="size-history"><${SizeHistory} points=${segmentation.sizeHistory} segments=${segmentation.segments} /><//>
    <${Card} title="Refits" id="jobs">
      <table class="compact">
        <thead><tr><th scope="col">Started</th><th scope="col">Why</th><th scope="col">Status</th><th scope="col" class="num">Entered</th><th scope="col" class="num">Exited</th><th scope="col" class="num">Took</th></tr></thead>
        <tbody>${segmentation.jobs.map((job) => html`<tr>
          <td>${dateTime(job.startedAt)}</td><td>${job.reason}</td><td><${Badge} value=${job.status} /></td>
          <td class="num">${count(job.entered)}</td><td class="num">${count(job.exited)}</td><td class="num">${duration(job.durationMs)}</td>
        </tr>`)}</tbody>
      </table>
    <//>
  `;
}
