// The dashboard's shell: navigation, the customer finder and the page for the current route.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { href, navigate, useRoute } from './router.js';
import { apiKey, gql, onAuthRequired, onLiveState, signOut } from './api.js';
import { SignIn } from './sign-in.js';
import { Overview } from './pages/overview.js';
import { SegmentationPage } from './pages/segmentation.js';
import { CommunitiesPage } from './pages/communities.js';
import { OverlapPage } from './pages/overlap.js';
import { MembersPage } from './pages/members.js';
import { CustomerPage } from './pages/customer.js';
import { PluginsPage } from './pages/plugins.js';
import { QualityPage } from './pages/quality.js';
import './style.css';

const NAV = [
  { target: '#/', label: 'Overview', matches: (parts) => parts.length === 0 },
  { target: '#/overlap', label: 'Overlap', matches: (parts) => parts[0] === 'overlap' },
  { target: '#/quality', label: 'Data quality', matches: (parts) => parts[0] === 'quality' },
  { target: '#/plugins', label: 'Plugins', matches: (parts) => parts[0] === 'plugins' },
];

function page({ parts, params }) {
  const [section, id, sub, subId] = parts;
  if (!section) return html`<${Overview} />`;
  if (section === 'segmentations' && id && sub === 'communities') return html`<${CommunitiesPage} id=${id} />`;
  if (section === 'segmentations' && id && sub === 'members' && subId != null)
    return html`<${MembersPage} id=${id} segment=${subId} />`;
  if (section === 'segmentations' && id && !sub) return html`<${SegmentationPage} id=${id} />`;
  if (section === 'overlap') return html`<${OverlapPage} a=${params.get('a')} b=${params.get('b')} />`;
  if (section === 'customers' && id === 'external' && sub) return html`<${CustomerPage} externalId=${sub} />`;
  if (section === 'customers' && id) return html`<${CustomerPage} id=${id} />`;
  if (section === 'plugins') return html`<${PluginsPage} />`;
  if (section === 'quality') return html`<${QualityPage} />`;
  return html`<div class="card"><h1>Not found</h1><p>No page at <code>${location.hash}</code>. <a href="#/">Back to the overview</a>.</p></div>`;
}

/** Finds a customer by external id or email and opens their page. */
function CustomerFinder() {
  const [text, setText] = useState('');
  const [message, setMessage] = useState('');
  const submit = async (event) => {
    event.preventDefault();
    const wanted = text.trim();
    if (!wanted) return;
    setMessage('');
    try {
      const byExternal = await gql('query($e:String){customer(externalId:$e){id}}', { e: wanted });
      let id = byExternal.customer?.id;
      if (!id && wanted.includes('@')) {
        const byEmail = await gql('query($m:String){customers(first:1,filter:{email:$m}){edges{node{id}}}}', { m: wanted });
        id = byEmail.customers.edges[0]?.node.id;
      }
      if (id) {
        setText('');
        navigate(href('customers', id));
      } else setMessage(`No customer with external id or email “${wanted}”.`);
    } catch (error) {
      setMessage(error.message);
    }
  };
  return html`<form class="finder" role="search" onSubmit=${submit}>
    <label for="finder-input" class="visually-hidden">Find a customer by external id or email</label>
    <input id="finder-input" type="search" placeholder="Customer: external id or email" value=${text}
      onInput=${(event) => setText(event.target.value)} aria-describedby="finder-message" />
    <button type="submit">Find</button>
    <span id="finder-message" class="finder-message" role="status">${message}</span>
  </form>`;
}

const LIVE_TEXT = { idle: '', connecting: 'Connecting…', live: 'Live', offline: 'Offline: reconnecting…' };

/** Whether live updates are flowing. */
function LiveIndicator() {
  const [state, setState] = useState('idle');
  useEffect(() => onLiveState(setState), []);
  if (state === 'idle') return null;
  return html`<span class=${`live-indicator live-${state}`} role="status" id="live-indicator">${LIVE_TEXT[state]}</span>`;
}

function App() {
  const route = useRoute();
  const main = useRef(null);
  const [needsKey, setNeedsKey] = useState(false);
  const [session, setSession] = useState(0);
  useEffect(() => onAuthRequired(() => setNeedsKey(true)), []);
  const signedIn = () => {
    setNeedsKey(false);
    setSession((n) => n + 1);
  };
  // Moving to another page moves the focus to its heading, as a page load would.
  useEffect(() => {
    const heading = main.current?.querySelector('h1');
    if (heading && document.activeElement && document.activeElement !== document.body) heading.focus?.();
    window.scrollTo(0, 0);
  }, [route.path]);
  const skip = (event) => {
    event.preventDefault();
    main.current?.focus();
  };
  return html`
    <a class="skip-link" href="#/" onClick=${skip}>Skip to content</a>
    <header class="topbar">
      <a class="brand" href="#/">Kindred</a>
      <nav aria-label="Main">
        <ul>
          ${NAV.map(
            (item) => html`<li><a href=${item.target}
              aria-current=${item.matches(route.parts) ? 'page' : undefined}>${item.label}</a></li>`,
          )}
        </ul>
      </nav>
      <${LiveIndicator} />
      <${CustomerFinder} />
      ${apiKey() && !needsKey && html`<button type="button" class="secondary sign-out" id="sign-out" onClick=${signOut}>Sign out</button>`}
    </header>
    <main id="main" ref=${main} tabindex="-1" key=${session}>
      ${needsKey ? html`<${SignIn} onSignedIn=${signedIn} />` : page(route)}
    </main>
  `;
}

render(html`<${App} />`, document.getElementById('app'));
