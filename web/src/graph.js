// A node-link graph laid out by d3-force and drawn as SVG. The layout is computed up front
// (a fixed number of ticks), so the picture is still and the same for the same data.
import { useMemo } from 'preact/hooks';
import { forceCenter, forceCollide, forceLink, forceManyBody, forceSimulation } from 'd3-force';
import { html } from './html.js';
import { PALETTE } from './chart.js';

const WIDTH = 900;
const HEIGHT = 600;

function layout(nodes, links) {
  const placed = nodes.map((node) => ({ ...node }));
  const byId = new Map(placed.map((node) => [node.id, node]));
  const edges = links
    .filter((link) => byId.has(link.source) && byId.has(link.target) && link.source !== link.target)
    .map((link) => ({ ...link }));
  const simulation = forceSimulation(placed)
    .force('charge', forceManyBody().strength(-320))
    .force('link', forceLink(edges).id((node) => node.id).distance((edge) => edge.source.radius + edge.target.radius + 60).strength(0.3))
    .force('collide', forceCollide((node) => node.radius + 10))
    .force('center', forceCenter(WIDTH / 2, HEIGHT / 2))
    .stop();
  simulation.tick(300);
  // Keep every node inside the picture.
  for (const node of placed) {
    node.x = Math.max(node.radius + 4, Math.min(WIDTH - node.radius - 4, node.x));
    node.y = Math.max(node.radius + 14, Math.min(HEIGHT - node.radius - 4, node.y));
  }
  return { placed, edges };
}

/**
 * nodes: { id, label, radius, title, color?, labelled? }; links: { source, target, width, title }.
 * Only nodes marked `labelled` (and the selected one) carry their label on the picture;
 * every node names itself in its tooltip and to screen readers.
 * Every node is a keyboard-focusable button; `onSelect(id)` runs on click or Enter.
 */
export function ForceGraph({ nodes, links, selected, onSelect, label }) {
  const { placed, edges } = useMemo(() => layout(nodes, links), [JSON.stringify(nodes), JSON.stringify(links)]);
  const activate = (id) => (event) => {
    if (event.type === 'click' || event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onSelect?.(id);
    }
  };
  return html`
    <svg class="graph" viewBox=${`0 0 ${WIDTH} ${HEIGHT}`} role="group" aria-label=${label}>
      <g class="edges">
        ${edges.map(
          (edge) => html`<line
            x1=${edge.source.x} y1=${edge.source.y} x2=${edge.target.x} y2=${edge.target.y}
            stroke-width=${edge.width}>
            <title>${edge.title}</title>
          </line>`,
        )}
      </g>
      <g class="nodes">
        ${placed.map(
          (node, index) => html`<g
            class=${`node${node.id === selected ? ' selected' : ''}`}
            transform=${`translate(${node.x},${node.y})`}
            tabindex="0" role="button" aria-label=${node.title} aria-pressed=${node.id === selected}
            data-node=${node.id}
            onClick=${activate(node.id)} onKeyDown=${activate(node.id)}>
            <title>${node.title}</title>
            <circle r=${node.radius} fill=${node.color ?? PALETTE[index % PALETTE.length]} />
          </g>`,
        )}
      </g>
      <g class="labels" aria-hidden="true">
        ${placed
          .filter((node) => node.labelled !== false || node.id === selected)
          .map((node) => html`<text x=${node.x} y=${node.y - node.radius - 4} text-anchor="middle">${node.label}</text>`)}
      </g>
    </svg>
  `;
}
