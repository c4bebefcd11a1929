// Persona cards: who is in each segment, in charts.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { BarChart, PALETTE } from '../chart.js';
import { amount, count, number, share } from '../format.js';

/** How many cards are drawn before "show all". */
const FIRST_CARDS = 6;

function Bars({ title, counts, color, horizontal }) {
  if (!counts.length) return html`<div class="mini"><h4>${title}</h4><p class="empty">No data.</p></div>`;
  return html`<div class="mini"><h4>${title}</h4>
    <${BarChart} labels=${counts.map((c) => c.value)} values=${counts.map((c) => c.customers)} color=${color}
      horizontal=${horizontal} height=${horizontal ? undefined : 160}
      label=${`${title}: ${counts.map((c) => `${c.value} ${c.customers}`).join(', ')}`} /></div>`;
}

function PersonaCard({ persona, index }) {
  const rfm = persona.rfm;
  return html`<article class="card persona" data-segment=${persona.segment}>
    <h3>${persona.segment}</h3>
    <dl class="facts">
      <div><dt>Members</dt><dd>${count(persona.size)} (${share(persona.share)})</dd></div>
      <div><dt>Revenue share</dt><dd>${share(persona.revenueShare)}</dd></div>
      <div><dt>Profit share</dt><dd>${share(persona.profitShare)}</dd></div>
      <div><dt>Average income</dt><dd>${amount(persona.averageIncome)}</dd></div>
      <div><dt>Recency</dt><dd>${rfm.recencyDays == null ? '–' : `${number(rfm.recencyDays)} days`}</dd></div>
      <div><dt>Frequency</dt><dd>${number(rfm.frequency)}</dd></div>
      <div><dt>Monetary</dt><dd>${amount(rfm.monetary)}</dd></div>
      <div><dt>Buyers</dt><dd>${count(rfm.buyers)}</dd></div>
    </dl>
    <div class="persona-charts">
      <${Bars} title="Age" counts=${persona.ages} color=${PALETTE[index % PALETTE.length]} />
      <${Bars} title="Gender" counts=${persona.genders} color=${PALETTE[(index + 1) % PALETTE.length]} />
      <${Bars} title="Income" counts=${persona.incomes} color=${PALETTE[(index + 2) % PALETTE.length]} />
    </div>
    <h4>Top needs</h4>
    ${persona.topNeeds.length
      ? html`<table class="compact"><thead><tr><th scope="col">Need</th><th scope="col">Members</th><th scope="col">Share</th><th scope="col">Lift</th></tr></thead>
          <tbody>${persona.topNeeds.map((need) => html`<tr><td>${need.tag}</td><td>${count(need.customers)}</td><td>${share(need.share)}</td><td>${number(need.lift)}×</td></tr>`)}</tbody></table>`
      : html`<p class="empty">No need stands out.</p>`}
    ${persona.topCities.length > 0 && html`<p class="meta">Cities: ${persona.topCities.map((c) => `${c.value} (${count(c.customers)})`).join(', ')}</p>`}
  </article>`;
}

/** A card per segment, largest first. */
export function Personas({ personas }) {
  const [all, setAll] = useState(false);
  if (!personas.length) return html`<p class="empty">No members, so no personas.</p>`;
  const shown = all ? personas : personas.slice(0, FIRST_CARDS);
  return html`<div class="personas">${shown.map((persona, index) => html`<${PersonaCard} key=${persona.segment} persona=${persona} index=${index} />`)}</div>
    ${personas.length > FIRST_CARDS && !all &&
    html`<button type="button" class="secondary" onClick=${() => setAll(true)}>Show all ${personas.length} personas</button>`}`;
}
