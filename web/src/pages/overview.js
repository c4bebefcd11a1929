// Overview: the population, every segmentation with its sizes, and membership changes live.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { useQuery, useSubscription } from '../hooks.js';
import { href } from '../router.js';
import { BarChart } from '../chart.js';
import { Badge, Card, ErrorBox, Loading, PageHeader, Stat } from '../ui.js';
import { count, customerName, dateTime, duration } from '../format.js';

const OVERVIEW = `query Overview {
  stats { customers interactions ties needs }
  segmentations {
    id name strategy mode status error degradedSince lastRefreshedAt
    job { status durationMs finishedAt }
    segments { label size }
  }
}`;

const CHANGES = `subscription Changes {
  membershipChanged { segmentationId segment change reason at customer { id externalId firstName lastName } }
}`;

/** How many changes the live list keeps. */
const LIVE_KEPT = 50;

function SegmentationCard({ segmentation, deltas }) {
  const segments = segmentation.segments
    .map((segment) => ({ ...segment, size: Math.max(0, segment.size + (deltas[`${segmentation.id}:${segment.label}`] ?? 0)) }))
    .sort((a, b) => b.size - a.size)
    .slice(0, 15);
  return html`<article class="card segmentation-card" data-segmentation=${segmentation.id}>
    <h3><a href=${href('segmentations', segmentation.id)}>${segmentation.name}</a></h3>
    <p class="meta">
      ${segmentation.strategy} · ${segmentation.mode.toLowerCase()} · <${Badge} value=${segmentation.status} />
    </p>
    ${segmentation.status === 'DEGRADED' && html`<p class="degraded-note" role="status">
      Degraded since ${dateTime(segmentation.degradedSince)}: some members may be stale; refitting to repair it.</p>`}
    <p class="meta">
      Last refit ${dateTime(segmentation.lastRefreshedAt)}${segmentation.job?.durationMs != null
        ? ` in ${duration(segmentation.job.durationMs)}` : ''}
    </p>
    ${segments.length
      ? html`<${BarChart} horizontal labels=${segments.map((s) => s.label)} values=${segments.map((s) => s.size)}
          label=${`Segment sizes of ${segmentation.name}: ${segments.map((s) => `${s.label} ${s.size}`).join(', ')}`} />`
      : html`<p class="empty">No members yet.</p>`}
  </article>`;
}

function LiveChanges({ changes, names }) {
  return html`<${Card} title="Live membership changes" id="live-changes">
    ${changes.length === 0 && html`<p class="empty">Waiting for changes… they appear here as they are written.</p>`}
    <ol class="live" aria-live="polite" aria-relevant="additions">
      ${changes.map(
        (change) => html`<li class=${`change change-${change.change.toLowerCase()}`} key=${change.key}
          data-customer=${change.customer?.externalId}>
          <time>${dateTime(change.at)}</time>
          <a href=${change.customer ? href('customers', change.customer.id) : '#/'}>${customerName(change.customer)}</a>
          ${change.change === 'ENTERED' ? ' entered ' : ' left '}
          <a href=${href('segmentations', change.segmentationId, 'members', change.segment)}>${change.segment}</a>
          <span class="meta"> in ${names[change.segmentationId] ?? `segmentation ${change.segmentationId}`} (${change.reason.toLowerCase()})</span>
        </li>`,
      )}
    </ol>
  <//>`;
}

/** The overview page. */
export function Overview() {
  const { data, error, loading } = useQuery(OVERVIEW);
  const [changes, setChanges] = useState([]);
  // Enters minus exits seen live, by segment; added to the sizes the query read.
  const [deltas, setDeltas] = useState({});
  useSubscription(CHANGES, {}, ({ membershipChanged: change }) => {
    const key = `${change.segmentationId}:${change.segment}`;
    setChanges((previous) => [{ ...change, key: `${key}:${change.customer?.id}:${change.at}:${change.change}` }, ...previous].slice(0, LIVE_KEPT));
    setDeltas((previous) => ({ ...previous, [key]: (previous[key] ?? 0) + (change.change === 'ENTERED' ? 1 : -1) }));
  });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${PageHeader} title="Overview" /><${Loading} />`;
  const names = Object.fromEntries(data.segmentations.map((s) => [s.id, s.name]));
  return html`
    <${PageHeader} title="Overview" subtitle="Your customers, their ties and needs, and how they are segmented." />
    <section class="stats" aria-label="Totals">
      <${Stat} id="stat-customers" label="Customers" value=${count(data.stats.customers)} />
      <${Stat} id="stat-interactions" label="Interactions" value=${count(data.stats.interactions)} />
      <${Stat} id="stat-ties" label="Ties" value=${count(data.stats.ties)} />
      <${Stat} id="stat-needs" label="Needs" value=${count(data.stats.needs)} />
    </section>
    <div class="overview-grid">
      <section aria-label="Segmentations" class="segmentations">
        <h2>Segmentations</h2>
        ${loading && html`<${Loading} />`}
        ${data.segmentations.length === 0 &&
        html`<p class="empty">No segmentations yet. <a href="#/plugins">Create one from a plugin.</a></p>`}
        <div class="segmentation-grid">
          ${data.segmentations.map((segmentation) => html`<${SegmentationCard} key=${segmentation.id} segmentation=${segmentation} deltas=${deltas} />`)}
        </div>
      </section>
      <${LiveChanges} changes=${changes} names=${names} />
    </div>
  `;
}
