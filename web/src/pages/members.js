// A segment's members, a page at a time, searchable, with a CSV export.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { useDebounced, useQuery } from '../hooks.js';
import { download } from '../api.js';
import { href } from '../router.js';
import { Card, ErrorBox, Loading, PageHeader } from '../ui.js';
import { count, customerName, dateTime, number } from '../format.js';

const MEMBERS = `query Members($id: ID!, $segment: String!, $after: String, $search: String, $first: Int) {
  segmentation(id: $id) {
    id name
    segments { label size membersCsvPath }
    members(segment: $segment, first: $first, after: $after, search: $search) {
      pageInfo { hasNextPage endCursor }
      edges { node { score since customer { id externalId firstName lastName email city country } } }
    }
  }
}`;

/** Members per page. */
const PAGE = 25;

/** The members page. */
export function MembersPage({ id, segment }) {
  const [text, setText] = useState('');
  const search = useDebounced(text.trim(), 250);
  // Cursors of the pages before this one (the last is this page's), for one search: a new
  // search, segment or segmentation starts again at page 1 in the same render.
  const scope = JSON.stringify([id, segment, search]);
  const [paging, setPaging] = useState({ scope, cursors: [] });
  const cursors = paging.scope === scope ? paging.cursors : [];
  const setCursors = (next) => setPaging({ scope, cursors: next });
  const after = cursors[cursors.length - 1] ?? null;
  const { data, error, loading } = useQuery(MEMBERS, { id, segment, after, search: search || null, first: PAGE });
  if (error) return html`<${ErrorBox} error=${error} />`;
  const segmentation = data?.segmentation;
  if (data && !segmentation) return html`<${PageHeader} title="Segmentation not found" />`;
  const info = segmentation?.segments.find((s) => s.label === segment);
  const page = segmentation?.members;
  return html`
    <${PageHeader} title=${`Members of ${segment}`}
      subtitle=${segmentation ? html`in <a href=${href('segmentations', id)}>${segmentation.name}</a> · ${count(info?.size ?? 0)} members` : ''}>
      ${info && html`<a class="button" id="export-csv" href=${info.membersCsvPath} download=${`${segment}.csv`}
        onClick=${(event) => { event.preventDefault(); download(info.membersCsvPath, `${segment}.csv`).catch((error) => alert(error.message)); }}>Export CSV</a>`}
    <//>
    <${Card}>
      <label class="search">Search members
        <input type="search" id="member-search" value=${text} placeholder="External id, name or email"
          onInput=${(event) => setText(event.target.value)} />
      </label>
      ${!page && html`<${Loading} />`}
      ${page && html`
        <div class="table-scroll"><table class="members" id="members-table" aria-busy=${loading}>
          <thead><tr><th scope="col">Customer</th><th scope="col">External id</th><th scope="col">Email</th><th scope="col">Place</th><th scope="col" class="num">Score</th><th scope="col">Since</th></tr></thead>
          <tbody>
            ${page.edges.map(({ node }) => html`<tr>
              <td>${node.customer ? html`<a href=${href('customers', node.customer.id)}>${customerName(node.customer)}</a>` : '(deleted)'}</td>
              <td>${node.customer?.externalId}</td>
              <td>${node.customer?.email ?? ''}</td>
              <td>${[node.customer?.city, node.customer?.country].filter(Boolean).join(', ')}</td>
              <td class="num">${node.score == null ? '' : number(node.score)}</td>
              <td>${dateTime(node.since)}</td>
            </tr>`)}
          </tbody>
        </table></div>
        ${page.edges.length === 0 && html`<p class="empty">${search ? `No member matches “${search}”.` : 'No members.'}</p>`}
        <nav class="pager" aria-label="Pages">
          <button type="button" class="secondary" id="previous-page" disabled=${loading || cursors.length === 0}
            onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
          <span class="meta">Page ${cursors.length + 1}</span>
          <button type="button" class="secondary" id="next-page" disabled=${loading || !page.pageInfo.hasNextPage}
            onClick=${() => setCursors([...cursors, page.pageInfo.endCursor])}>Next</button>
        </nav>`}
    <//>
  `;
}
