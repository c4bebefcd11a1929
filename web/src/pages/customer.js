// A customer's full picture: profile, needs, ties, interactions on every channel,
// memberships with their history, and the identifiers and merges that made them one person.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { gql } from '../api.js';
import { useQuery } from '../hooks.js';
import { href, navigate } from '../router.js';
import { ForceGraph } from '../graph.js';
import { Badge, Card, ErrorBox, Loading, PageHeader } from '../ui.js';
import { amount, customerName, dateTime, number } from '../format.js';

const PERSON = `id externalId firstName lastName`;
const CUSTOMER = `query Customer($id: ID, $externalId: String) {
  customer(id: $id, externalId: $externalId) {
    ${PERSON} email phone birthDate gender income education occupation country region city
    addressLine1 addressLine2 postcode lifestyle
    consentMarketing consentProfiling socialHandles attributes createdAt updatedAt
    needs(first: 100) { edges { node { tag kind source weight } } }
    ties(first: 100) { edges { node { kind weight mutual from { ${PERSON} } to { ${PERSON} } } } }
    memberships { segmentation { id name } segment { label } score since }
    membershipHistory(first: 50) { segmentation { id name } segment { label } change reason at }
    identifiers { kind value origin firstSeen lastSeen }
    aliases
    mergeHistory { id survivorId absorbedId absorbedExternalId reason evidence decidedBy mergedAt unmergedAt unmergedBy canUndo }
  }
  caller { role }
}`;
const UNMERGE = `mutation Unmerge($mergeId: ID!) { unmergeCustomer(mergeId: $mergeId) { restored { id externalId } } }`;
const TIMELINE = `query Timeline($id: ID!, $after: String) {
  customer(id: $id) {
    interactions(first: 30, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { id occurredAt channel kind amount currency text } }
    }
  }
}`;

function Profile({ customer }) {
  const rows = [
    ['External id', customer.externalId],
    ['Email', customer.email],
    ['Phone', customer.phone],
    ['Address', [customer.addressLine1, customer.addressLine2, customer.postcode].filter(Boolean).join(', ')],
    ['Born', customer.birthDate],
    ['Gender', customer.gender],
    ['Income', customer.income == null ? null : amount(customer.income)],
    ['Education', customer.education],
    ['Occupation', customer.occupation],
    ['Place', [customer.city, customer.region, customer.country].filter(Boolean).join(', ')],
    ['Lifestyle', customer.lifestyle.join(', ')],
    ['Consent to marketing', customer.consentMarketing == null ? 'not asked' : customer.consentMarketing ? 'yes' : 'no'],
    ['Consent to profiling', customer.consentProfiling == null ? 'not asked' : customer.consentProfiling ? 'yes' : 'no'],
    ['Customer since', dateTime(customer.createdAt)],
  ];
  const handles = Object.entries(customer.socialHandles ?? {});
  return html`<dl class="profile">
    ${rows.filter(([, value]) => value).map(([label, value]) => html`<div><dt>${label}</dt><dd>${value}</dd></div>`)}
    ${handles.map(([network, handle]) => html`<div><dt>${network}</dt><dd>${String(handle)}</dd></div>`)}
  </dl>`;
}

function Needs({ needs }) {
  if (!needs.length) return html`<p class="empty">No needs known.</p>`;
  const groups = [['declared', 'Declared'], ['inferred', 'Inferred']];
  return groups.map(([source, title]) => {
    const mine = needs.filter((need) => need.source === source);
    return html`<div class="needs" data-source=${source}><h3>${title}</h3>
      ${mine.length
        ? html`<ul class="tags">${mine.map((need) => html`<li title=${`${need.kind}, weight ${number(need.weight)}`}>${need.tag} <span class="meta">${need.kind} · ${number(need.weight)}</span></li>`)}</ul>`
        : html`<p class="empty">None.</p>`}</div>`;
  });
}

function Ties({ customer, ties }) {
  if (!ties.length) return html`<p class="empty">No ties.</p>`;
  const others = new Map();
  for (const tie of ties) {
    const other = tie.from?.id === customer.id ? tie.to : tie.from;
    if (!other) continue;
    const known = others.get(other.id);
    others.set(other.id, { other, weight: (known?.weight ?? 0) + tie.weight, kinds: [...(known?.kinds ?? []), tie.kind] });
  }
  const nodes = [
    { id: customer.id, label: customerName(customer), radius: 16, title: `${customerName(customer)} (this customer)`, color: '#111827' },
    ...[...others.values()].map(({ other, kinds }) => ({
      id: other.id, label: customerName(other), radius: 9, title: `${customerName(other)}: ${kinds.join(', ')}`,
    })),
  ];
  const links = [...others.values()].map(({ other, weight, kinds }) => ({
    source: customer.id, target: other.id, width: 1 + 4 * Math.min(1, weight), title: `${kinds.join(', ')}, weight ${number(weight)}`,
  }));
  return html`<${ForceGraph} nodes=${nodes} links=${links} selected=${customer.id}
      onSelect=${(id) => id !== customer.id && navigate(href('customers', id))}
      label=${`Ties of ${customerName(customer)}: ${others.size} people. Press Enter on one to open them.`} />
    <ul class="tie-list">${[...others.values()].map(({ other, kinds, weight }) => html`<li>
      <a href=${href('customers', other.id)}>${customerName(other)}</a>${' '}<span class="meta">${kinds.join(', ')} · ${number(weight)}</span></li>`)}</ul>`;
}

function Timeline({ customerId }) {
  const [timeline, setTimeline] = useState({ customerId, items: [], after: null, more: false, loading: true, error: null });
  // Answers for another customer (the page moved on) or a page already added are ignored.
  const load = async (after) => {
    setTimeline((previous) => ({ ...previous, loading: true }));
    try {
      const data = await gql(TIMELINE, { id: customerId, after });
      const page = data.customer?.interactions;
      setTimeline((previous) => {
        if (previous.customerId !== customerId || previous.after !== after) return previous;
        const items = [...(after ? previous.items : []), ...(page?.edges ?? []).map((edge) => edge.node)];
        return { customerId, items, after: page?.pageInfo.endCursor ?? null, more: !!page?.pageInfo.hasNextPage, loading: false, error: null };
      });
    } catch (error) {
      setTimeline((previous) => (previous.customerId === customerId ? { ...previous, loading: false, error } : previous));
    }
  };
  useEffect(() => {
    setTimeline({ customerId, items: [], after: null, more: false, loading: true, error: null });
    load(null);
  }, [customerId]);
  const { items, more, loading, error } = timeline;
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!items.length) return loading ? html`<${Loading} />` : html`<p class="empty">No interactions.</p>`;
  return html`<ol class="timeline" id="timeline">
      ${items.map((item) => html`<li data-channel=${item.channel} key=${item.id}>
        <time>${dateTime(item.occurredAt)}</time>
        <span class=${`channel channel-${item.channel ?? 'other'}`}>${item.channel ?? 'other'}</span>
        <span>${item.kind}${item.amount != null ? ` · ${amount(item.amount)} ${item.currency ?? ''}` : ''}</span>
        ${item.text && html`<q>${item.text}</q>`}
      </li>`)}
    </ol>
    ${more && html`<button type="button" class="secondary" disabled=${loading} onClick=${() => load(timeline.after)}>Show older</button>`}`;
}

function Memberships({ customer }) {
  return html`
    ${customer.memberships.length
      ? html`<ul class="memberships">${customer.memberships.map((m) => html`<li>
          <a href=${href('segmentations', m.segmentation?.id)}>${m.segmentation?.name}</a>${': '}
          <a href=${href('segmentations', m.segmentation?.id, 'members', m.segment.label)}>${m.segment.label}</a>${' '}
          <span class="meta">since ${dateTime(m.since)}${m.score == null ? '' : ` · score ${number(m.score)}`}</span></li>`)}</ul>`
      : html`<p class="empty">In no segment.</p>`}
    <h3>History</h3>
    ${customer.membershipHistory.length
      ? html`<table class="compact" id="membership-history"><thead><tr><th scope="col">When</th><th scope="col">Segmentation</th><th scope="col">Segment</th><th scope="col">Change</th><th scope="col">Why</th></tr></thead>
          <tbody>${customer.membershipHistory.map((event) => html`<tr>
            <td>${dateTime(event.at)}</td><td>${event.segmentation?.name ?? '(deleted)'}</td><td>${event.segment.label}</td>
            <td><${Badge} value=${event.change} /></td><td>${event.reason.toLowerCase()}</td></tr>`)}</tbody></table>`
      : html`<p class="empty">No changes recorded.</p>`}`;
}

/** What a merge was based on, in a few words. */
function evidenceText(merge) {
  const shared = merge.evidence?.shared;
  if (Array.isArray(shared) && shared.length) return `matched on ${shared.map((item) => `${item.kind} ${item.value}`).join(', ')}`;
  if (merge.evidence?.erased) return 'erased';
  return merge.reason === 'MANUAL' ? `merged by ${merge.decidedBy}` : merge.reason.toLowerCase();
}

/** One merge with its undo button (two steps: the undo is asked, then confirmed); only
 * admins may undo, so other roles are told who can. */
function MergeRow({ customer, merge, mayUndo, onUndone }) {
  const [state, setState] = useState({ asking: false, busy: false, error: null });
  const undo = async () => {
    setState({ asking: false, busy: true, error: null });
    try {
      const data = await gql(UNMERGE, { mergeId: merge.id });
      onUndone(`Merge ${merge.id} undone: ${data.unmergeCustomer.restored.externalId} is a customer of their own again.`);
    } catch (error) {
      setState({ asking: false, busy: false, error });
    }
  };
  const absorbedHere = merge.survivorId === customer.id;
  const other = absorbedHere
    ? merge.absorbedExternalId
    : html`<a href=${href('customers', merge.survivorId)}>customer ${merge.survivorId}</a>`;
  return html`<tr data-merge=${merge.id}>
    <td>${dateTime(merge.mergedAt)}</td>
    <td>${absorbedHere ? html`absorbed ${other}` : html`merged into ${other}`}</td>
    <td>${evidenceText(merge)}</td>
    <td>${merge.decidedBy}</td>
    <td>${merge.unmergedAt
      ? html`<span class="meta">undone ${dateTime(merge.unmergedAt)} by ${merge.unmergedBy}</span>`
      : merge.canUndo && absorbedHere && !mayUndo
        ? html`<span class="meta">an admin can undo it</span>`
      : merge.canUndo && absorbedHere
        ? state.asking
          ? html`<span class="confirm">Undo this merge?${' '}
              <button type="button" class="danger" onClick=${undo}>Confirm undo</button>${' '}
              <button type="button" class="secondary" onClick=${() => setState({ ...state, asking: false })}>Cancel</button></span>`
          : html`<button type="button" class="secondary" disabled=${state.busy} onClick=${() => setState({ asking: true, busy: false, error: null })}>Undo merge</button>`
        : ''}
      ${state.error && html`<${ErrorBox} error=${state.error} />`}</td>
  </tr>`;
}

function Identity({ customer, mayUndo, onUndone }) {
  return html`
    <table class="compact" id="identifiers"><thead><tr><th scope="col">Kind</th><th scope="col">Value</th><th scope="col">Origin</th><th scope="col">First seen</th><th scope="col">Last seen</th></tr></thead>
      <tbody>${customer.identifiers.map((item) => html`<tr>
        <td>${item.kind.replace('_', ' ')}</td><td>${item.value}${customer.aliases.includes(item.value) ? html` <span class="badge">alias</span>` : ''}</td>
        <td>${item.origin}</td><td>${dateTime(item.firstSeen)}</td><td>${dateTime(item.lastSeen)}</td></tr>`)}</tbody></table>
    <h3>Merge history</h3>
    ${customer.mergeHistory.length
      ? html`<table class="compact" id="merge-history"><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Why</th><th scope="col">Decided by</th><th scope="col"></th></tr></thead>
          <tbody>${customer.mergeHistory.map((merge) => html`<${MergeRow} key=${merge.id} customer=${customer} merge=${merge} mayUndo=${mayUndo} onUndone=${onUndone} />`)}</tbody></table>`
      : html`<p class="empty">Never merged.</p>`}`;
}

/** The customer page, by Kindred id or (`external` route) by external id. */
export function CustomerPage({ id, externalId }) {
  const { data, error, reload } = useQuery(CUSTOMER, externalId ? { externalId } : { id });
  const [notice, setNotice] = useState(null);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  const customer = data.customer;
  if (!customer) return html`<${PageHeader} title="Customer not found" /><p>No customer ${externalId ? `with external id “${externalId}”` : `with id ${id}`}.</p>`;
  return html`
    <${PageHeader} title=${customerName(customer)} subtitle=${`Customer ${customer.externalId}`} />
    <div class="two-columns">
      <${Card} title="Profile" id="profile"><${Profile} customer=${customer} /><//>
      <${Card} title="Needs" id="needs"><${Needs} needs=${customer.needs.edges.map((edge) => edge.node)} /><//>
    </div>
    <div class="two-columns">
      <${Card} title="Ties" id="ties"><${Ties} customer=${customer} ties=${customer.ties.edges.map((edge) => edge.node)} /><//>
      <${Card} title="Segments" id="memberships"><${Memberships} customer=${customer} /><//>
    </div>
    <${Card} title="Identifiers and merges" id="identity">
      ${notice && html`<p class="notice" role="status">${notice}</p>`}
      <${Identity} customer=${customer} mayUndo=${data.caller.role === 'ADMIN'} onUndone=${(text) => { setNotice(text); reload(); }} />
    <//>
    <${Card} title="Interactions" id="interactions"><${Timeline} customerId=${customer.id} /><//>
  `;
}
