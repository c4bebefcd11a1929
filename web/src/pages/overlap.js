// Two segmentations side by side: how many customers each pair of segments shares, and how
// much more (or less) than chance, as a heat map.
import { html } from '../html.js';
import { useQuery } from '../hooks.js';
import { navigate } from '../router.js';
import { Card, ErrorBox, Loading, PageHeader } from '../ui.js';
import { count, number, share } from '../format.js';

const SEGMENTATIONS = `query { segmentations { id name } }`;
const OVERLAP = `query Overlap($a: ID!, $b: ID!) {
  overlap(a: $a, b: $b) { customers cells { a b customers share lift } rows { label size } columns { label size } }
}`;

/** Lift 1 is white; over-represented pairs turn orange, under-represented ones blue. */
function heat(lift) {
  if (!Number.isFinite(lift) || lift <= 0) return 'rgb(219, 234, 254)';
  const strength = Math.min(1, Math.abs(Math.log2(lift)) / 2);
  const [r, g, b] = lift >= 1 ? [234, 88, 12] : [37, 99, 235];
  const mix = (channel) => Math.round(255 + (channel - 255) * strength);
  return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
}

function HeatMap({ overlap }) {
  const cells = new Map(overlap.cells.map((cell) => [`${cell.a}\u0000${cell.b}`, cell]));
  return html`<div class="table-scroll"><table class="heatmap" id="heatmap">
    <caption>Customers in both segments; lift is their count over what chance would give.</caption>
    <thead><tr><th scope="col"></th>${overlap.columns.map((column) => html`<th scope="col">${column.label}<br /><span class="meta">${count(column.size)}</span></th>`)}</tr></thead>
    <tbody>
      ${overlap.rows.map((row) => html`<tr>
        <th scope="row">${row.label} <span class="meta">${count(row.size)}</span></th>
        ${overlap.columns.map((column) => {
          const cell = cells.get(`${row.label}\u0000${column.label}`);
          const lift = cell?.lift ?? 0;
          return html`<td style=${`background:${heat(lift)}`}
            title=${`${row.label} × ${column.label}: ${cell?.customers ?? 0} customers, ${share(cell?.share ?? 0)} of all, lift ${number(lift)}`}>
            <span class="cell-count">${count(cell?.customers ?? 0)}</span>
            <span class="cell-lift">${number(lift)}×</span>
          </td>`;
        })}
      </tr>`)}
    </tbody>
  </table></div>`;
}

function Result({ a, b }) {
  const { data, error } = useQuery(OVERLAP, { a, b });
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="Counting" />`;
  if (!data.overlap.cells.length) return html`<p class="empty">The two segmentations share no customers.</p>`;
  return html`<p class="meta">${count(data.overlap.customers)} customers are in both segmentations.</p><${HeatMap} overlap=${data.overlap} />`;
}

/** The overlap page. */
export function OverlapPage({ a, b }) {
  const { data, error } = useQuery(SEGMENTATIONS);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  const choose = (side) => (event) => {
    const next = new URLSearchParams({ a: a ?? '', b: b ?? '' });
    next.set(side, event.target.value);
    navigate(`#/overlap?${next}`);
  };
  const picker = (side, value, label) => html`<label>${label}
    <select id=${`overlap-${side}`} value=${value ?? ''} onChange=${choose(side)}>
      <option value="">Choose…</option>
      ${data.segmentations.map((s) => html`<option value=${s.id}>${s.name}</option>`)}
    </select></label>`;
  return html`
    <${PageHeader} title="Overlap" subtitle="Pick two segmentations to see how their segments cross." />
    <${Card} title="Segmentations">
      <div class="pickers">${picker('a', a, 'Rows')} ${picker('b', b, 'Columns')}</div>
    <//>
    ${a && b ? html`<${Card} title="Crosstab"><${Result} a=${a} b=${b} /><//>` : html`<p class="empty">Choose a segmentation for the rows and one for the columns.</p>`}
  `;
}
