// Data quality: the review queue of probable duplicates (the two records side by side,
// accepted or rejected by keyboard), how complete each field is, values that cannot be right,
// customers gone quiet, consent never asked.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { gql } from '../api.js';
import { useQuery } from '../hooks.js';
import { href } from '../router.js';
import { Card, ErrorBox, Loading, PageHeader, Stat } from '../ui.js';
import { count, share } from '../format.js';

const PERSON = `id externalId firstName lastName birthDate email phone city postcode addressLine1`;
const QUALITY = `query Quality {
  dataQuality {
    customers bornInTheFuture olderThan120 inactive365Days
    marketingConsentNotAsked profilingConsentNotAsked suggestionsPending
    completeness { field known share }
  }
  duplicateSuggestions(first: 20) { id probability evidence customerA { ${PERSON} } customerB { ${PERSON} } }
}`;
const ACCEPT = `mutation Accept($id: ID!) { acceptSuggestion(id: $id) { id } }`;
const REJECT = `mutation Reject($id: ID!) { rejectSuggestion(id: $id) { id } }`;

const ROWS = [
  ['First name', 'firstName', 'first_name'],
  ['Last name', 'lastName', 'last_name'],
  ['Born', 'birthDate', 'birth_date'],
  ['Email', 'email', 'email'],
  ['Phone', 'phone', 'phone'],
  ['City', 'city', 'city'],
  ['Postcode', 'postcode', 'postcode'],
  ['Address', 'addressLine1', 'address'],
];

/** The level a field was compared at, from the evidence. */
function levelOf(suggestion, field) {
  return suggestion.evidence?.fields?.find((item) => item.field === field) ?? null;
}

/** One suggestion: the two records side by side, field by field, with the decision. */
function Review({ suggestion, onDecided }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const decide = async (accept) => {
    setBusy(true);
    setError(null);
    try {
      await gql(accept ? ACCEPT : REJECT, { id: suggestion.id });
      onDecided(accept ? 'Merged.' : 'Kept apart; this pair will not be suggested again.');
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  useEffect(() => {
    // The keyboard: a to accept (merge), r to reject, unless typing somewhere.
    const key = (event) => {
      if (busy || event.target.closest?.('input, textarea, select')) return;
      if (event.key === 'a') decide(true);
      if (event.key === 'r') decide(false);
    };
    addEventListener('keydown', key);
    return () => removeEventListener('keydown', key);
  });
  const { customerA: a, customerB: b } = suggestion;
  if (!a || !b) return html`<p class="empty">One of the two customers is gone.</p>`;
  return html`<div id="review" data-suggestion=${suggestion.id}>
    <p>Probability <strong>${share(suggestion.probability)}</strong> that these are one person.</p>
    ${suggestion.evidence?.names_swapped && html`<p id="names-swapped" class="meta">One record gives the given and family names the other way round; they were compared crosswise.</p>`}
    <table class="compact side-by-side"><thead><tr><th scope="col"></th>
      <th scope="col"><a href=${href('customers', a.id)}>${a.externalId}</a></th>
      <th scope="col"><a href=${href('customers', b.id)}>${b.externalId}</a></th>
      <th scope="col">Compared</th></tr></thead>
      <tbody>${ROWS.map(([label, key, field]) => {
        const level = levelOf(suggestion, field);
        return html`<tr data-field=${field}><th scope="row">${label}</th><td>${a[key] ?? '–'}</td><td>${b[key] ?? '–'}</td>
          <td>${level?.level ?? 'unknown'}${level?.level ? html` <span class="meta">${level.weight >= 0 ? '+' : ''}${level.weight.toFixed(1)}</span>` : ''}</td></tr>`;
      })}</tbody></table>
    <p>
      <button type="button" id="accept" disabled=${busy} onClick=${() => decide(true)}>Same person: merge <kbd>a</kbd></button>${' '}
      <button type="button" id="reject" class="secondary" disabled=${busy} onClick=${() => decide(false)}>Different people <kbd>r</kbd></button>
    </p>
    ${error && html`<${ErrorBox} error=${error} />`}
  </div>`;
}

export function QualityPage() {
  const { data, error, reload } = useQuery(QUALITY);
  const [notice, setNotice] = useState(null);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  const figures = data.dataQuality;
  const queue = data.duplicateSuggestions;
  return html`
    <${PageHeader} title="Data quality" subtitle=${`${count(figures.customers)} customers`} />
    <div class="stats">
      <${Stat} id="stat-pending" label="Duplicates to review" value=${count(figures.suggestionsPending)} />
      <${Stat} id="stat-inactive" label="No interaction in 365 days" value=${count(figures.inactive365Days)} />
      <${Stat} id="stat-consent" label="Marketing consent not asked" value=${count(figures.marketingConsentNotAsked)} />
      <${Stat} id="stat-profiling" label="Profiling consent not asked" value=${count(figures.profilingConsentNotAsked)} />
      <${Stat} id="stat-implausible" label="Born in the future or over 120" value=${count(figures.bornInTheFuture + figures.olderThan120)} />
    </div>
    <${Card} title="Possible duplicates" id="queue">
      ${notice && html`<p class="notice" role="status">${notice}</p>`}
      ${queue.length
        ? html`<${Review} key=${queue[0].id} suggestion=${queue[0]} onDecided=${(text) => { setNotice(text); reload(); }} />
          <p class="meta">${count(figures.suggestionsPending - 1)} more after this one.</p>`
        : html`<p class="empty">Nothing to review. <code>kindred resolve</code> looks for duplicates.</p>`}
    <//>
    <${Card} title="Completeness" id="completeness">
      <table class="compact"><thead><tr><th scope="col">Field</th><th scope="col">Known</th><th scope="col">Share</th></tr></thead>
        <tbody>${figures.completeness.map((item) => html`<tr data-field=${item.field}>
          <td>${item.field.replace('_', ' ')}</td><td>${count(item.known)}</td>
          <td><meter min="0" max="1" value=${item.share} title=${share(item.share)}></meter> ${share(item.share)}</td></tr>`)}</tbody></table>
    <//>
  `;
}
