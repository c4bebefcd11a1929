// The communities of a need-based segmentation as a graph: nodes sized by members, edges by
// the ties between them; one community's influencers and top needs beside it.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { useQuery } from '../hooks.js';
import { href } from '../router.js';
import { ForceGraph } from '../graph.js';
import { Card, ErrorBox, Loading, PageHeader } from '../ui.js';
import { count, number, share } from '../format.js';

const COMMUNITIES = `query Communities($id: ID!) {
  segmentation(id: $id) {
    id name strategy model
    segments { label size }
    links { a b ties weight }
  }
}`;

/** The radius of the largest node, in SVG units. */
const MAX_RADIUS = 42;
/** Communities named on the picture (the largest); the others name themselves on focus. */
const LABELLED = 8;
/** Each community keeps its strongest links to this many others, so the picture stays legible. */
const LINKS_PER_COMMUNITY = 3;

/** The links worth drawing: each community's strongest few. */
function strongestLinks(links) {
  const between = links.filter((link) => link.a !== link.b).sort((x, y) => y.ties - x.ties);
  const kept = new Set();
  const degree = new Map();
  for (const link of between) {
    const [a, b] = [degree.get(link.a) ?? 0, degree.get(link.b) ?? 0];
    if (a < LINKS_PER_COMMUNITY || b < LINKS_PER_COMMUNITY) {
      kept.add(link);
      degree.set(link.a, a + 1);
      degree.set(link.b, b + 1);
    }
  }
  return between.filter((link) => kept.has(link));
}

function Community({ segmentationId, segment, summary, internalTies }) {
  return html`<div class="community" id="community-detail" aria-live="polite">
    <h3>${segment.label}</h3>
    <dl class="facts">
      <div><dt>Members</dt><dd>${count(segment.size)}</dd></div>
      <div><dt>Ties inside</dt><dd>${count(internalTies)}</dd></div>
      <div><dt>Tie weight kept inside</dt><dd>${share(summary?.internal_tie_share)}</dd></div>
    </dl>
    <h4>Top needs</h4>
    ${summary?.top_needs?.length
      ? html`<table class="compact"><thead><tr><th scope="col">Need</th><th scope="col">Share</th><th scope="col">Lift</th></tr></thead>
          <tbody>${summary.top_needs.map((need) => html`<tr><td>${need.need}</td><td>${share(need.share)}</td><td>${number(need.lift)}×</td></tr>`)}</tbody></table>`
      : html`<p class="empty">No shared need stands out.</p>`}
    <h4>Influencers</h4>
    ${summary?.influencers?.length
      ? html`<ol class="influencers">${summary.influencers.map((externalId) => html`<li><a href=${href('customers', 'external', externalId)}>${externalId}</a></li>`)}</ol>`
      : html`<p class="empty">None found.</p>`}
    <p><a href=${href('segmentations', segmentationId, 'members', segment.label)}>All members of ${segment.label}</a></p>
  </div>`;
}

/** The communities page. */
export function CommunitiesPage({ id }) {
  const { data, error } = useQuery(COMMUNITIES, { id });
  const [selected, setSelected] = useState(null);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  const segmentation = data.segmentation;
  if (!segmentation) return html`<${PageHeader} title="Segmentation not found" />`;
  const summaries = Object.fromEntries((segmentation.model?.summaries ?? []).map((s) => [s.label, s]));
  const segments = segmentation.segments;
  const largest = Math.max(1, ...segments.map((s) => s.size));
  const drawn = strongestLinks(segmentation.links);
  const heaviest = Math.max(1, ...drawn.map((l) => l.ties));
  const labelled = new Set([...segments].sort((x, y) => y.size - x.size).slice(0, LABELLED).map((s) => s.label));
  const internal = Object.fromEntries(segmentation.links.filter((l) => l.a === l.b).map((l) => [l.a, l.ties]));
  const nodes = segments.map((segment) => ({
    id: segment.label,
    label: segment.label,
    radius: 6 + (MAX_RADIUS - 6) * Math.sqrt(segment.size / largest),
    title: `${segment.label}: ${segment.size} members`,
    color: summaries[segment.label] ? undefined : '#9ca3af',
    labelled: labelled.has(segment.label),
  }));
  const links = drawn.map((link) => ({
      source: link.a,
      target: link.b,
      width: 1 + 9 * (link.ties / heaviest),
      title: `${link.a} – ${link.b}: ${link.ties} ties`,
    }));
  const current = segments.find((segment) => segment.label === selected) ?? segments[0];
  return html`
    <${PageHeader} title=${`${segmentation.name} — graph of communities`}
      subtitle=${`${segments.length} communities; modularity ${number(segmentation.model?.modularity)}. Lines join each community to those it has most ties with.`}>
      <a class="button secondary" href=${href('segmentations', segmentation.id)}>Back to the segmentation</a>
    <//>
    ${!segmentation.model?.summaries && html`<p class="meta">This strategy does not describe communities; the graph shows its segments and the ties between them.</p>`}
    <div class="two-columns wide-left">
      <${Card} title="Graph of communities" id="community-graph">
        ${segments.length
          ? html`<${ForceGraph} nodes=${nodes} links=${links} selected=${current?.label} onSelect=${setSelected}
              label="Communities: circles sized by members, lines by ties between them. Press Enter on a community to see it." />`
          : html`<p class="empty">No communities yet.</p>`}
      <//>
      <${Card} title="Community">
        ${current
          ? html`<${Community} segmentationId=${segmentation.id} segment=${current} summary=${summaries[current.label]} internalTies=${internal[current.label] ?? 0} />`
          : html`<p class="empty">Pick a community.</p>`}
      <//>
    </div>
  `;
}
