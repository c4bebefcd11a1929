// What a strategy's last fit learned, shown as a readable table.
import { html } from '../html.js';
import { number } from '../format.js';

/** Fields other pages show better (a need-based model's community summaries). */
const SHOWN_ELSEWHERE = new Set(['summaries']);

function Value({ value }) {
  if (value == null) return html`<span class="meta">–</span>`;
  if (typeof value === 'number') return html`<span>${number(value)}</span>`;
  if (typeof value === 'boolean' || typeof value === 'string') return html`<span>${String(value)}</span>`;
  if (Array.isArray(value) && value.every((item) => typeof item !== 'object' || item === null))
    return html`<span>${value.map((item) => (typeof item === 'number' ? number(item) : String(item))).join(', ')}</span>`;
  return html`<details><summary>${Array.isArray(value) ? `${value.length} items` : 'details'}</summary>
    <pre>${JSON.stringify(value, null, 2)}</pre></details>`;
}

/** The model as key / value rows; nested parts fold away. */
export function ModelView({ model }) {
  if (!model || typeof model !== 'object') return html`<p class="empty">No model yet: the segmentation has not been fitted.</p>`;
  const entries = Object.entries(model).filter(([key]) => !SHOWN_ELSEWHERE.has(key));
  return html`<table class="model">
    <tbody>
      ${entries.map(([key, value]) => html`<tr><th scope="row">${key.replaceAll('_', ' ')}</th><td><${Value} value=${value} /></td></tr>`)}
    </tbody>
  </table>`;
}
