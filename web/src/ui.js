// Small building blocks shared by the pages.
import { html } from './html.js';

/** Shown while a query runs. */
export const Loading = ({ what = 'Loading' }) =>
  html`<p class="loading" role="status" aria-live="polite">${what}…</p>`;

/** A failed request, with its message. */
export const ErrorBox = ({ error }) =>
  html`<div class="error" role="alert"><strong>Something went wrong.</strong> ${error.message}</div>`;

/** A status word, coloured by meaning. */
export const Badge = ({ value }) => {
  const text = String(value ?? '').toLowerCase();
  return html`<span class=${`badge badge-${text}`}>${text}</span>`;
};

/** A page's heading and optional actions. */
export const PageHeader = ({ title, subtitle, children }) => html`
  <header class="page-header">
    <div>
      <h1 tabindex="-1">${title}</h1>
      ${subtitle && html`<p class="subtitle">${subtitle}</p>`}
    </div>
    ${children && html`<div class="actions">${children}</div>`}
  </header>
`;

/** A titled panel. */
export const Card = ({ title, children, class: extra = '', id }) => html`
  <section class=${`card ${extra}`} id=${id} aria-label=${title}>
    ${title && html`<h2>${title}</h2>`} ${children}
  </section>
`;

/** A figure with its label. */
export const Stat = ({ label, value, id }) => html`
  <div class="stat" id=${id}>
    <div class="stat-value">${value}</div>
    <div class="stat-label">${label}</div>
  </div>
`;
