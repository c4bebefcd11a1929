// Plugins: what the server loaded or refused, and a segmentation form generated from the
// chosen strategy's parameter schema.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { gql } from '../api.js';
import { useQuery } from '../hooks.js';
import { href, navigate } from '../router.js';
import { Badge, Card, ErrorBox, Loading, PageHeader } from '../ui.js';
import { dateTime } from '../format.js';
import { SchemaFields, collectParams } from '../schema-form.js';

const PLUGINS = `query Plugins {
  plugins { name strategy version sdkVersion abiVersion status error path description paramsSchema defaultParams segments inputs { table columns } failures { count lastError lastAt } }
}`;
const CREATE = `mutation Create($input: CreateSegmentationInput!) { createSegmentation(input: $input) { id } }`;

function PluginTable({ plugins }) {
  return html`<div class="table-scroll"><table id="plugins-table">
    <thead><tr><th scope="col">Plugin</th><th scope="col">Status</th><th scope="col">Version</th><th scope="col">ABI</th><th scope="col">SDK</th><th scope="col">About</th></tr></thead>
    <tbody>${plugins.map((plugin) => html`<tr data-plugin=${plugin.name} data-status=${plugin.status}>
      <th scope="row">${plugin.name}${plugin.strategy && plugin.strategy !== plugin.name ? html` <span class="meta">(${plugin.strategy})</span>` : ''}</th>
      <td><${Badge} value=${plugin.status} /></td>
      <td>${plugin.version ?? '–'}</td>
      <td>${plugin.abiVersion ?? '–'}</td>
      <td>${plugin.sdkVersion ?? '–'}</td>
      <td>
        ${plugin.description}
        ${plugin.error && html`<p class="error-text refusal">${plugin.error}</p>`}
        ${plugin.failures.count > 0 && html`<p class="error-text failures" data-failures=${plugin.failures.count}>
          ${plugin.failures.count} failed call${plugin.failures.count === 1 ? '' : 's'} since the server started; the last ${dateTime(plugin.failures.lastAt)}: ${plugin.failures.lastError}</p>`}
        <p class="meta path">${plugin.path}</p>
        ${plugin.inputs.length > 0 && html`<p class="meta">Reads ${plugin.inputs.map((input) => `${input.table} (${input.columns.join(', ')})`).join('; ')}</p>`}
      </td>
    </tr>`)}</tbody>
  </table></div>`;
}

/** Turns the server's errors into messages by form field (parameters by their name). */
function serverErrors(error) {
  const byField = {};
  const general = [];
  for (const item of error.errors ?? []) {
    const code = item.extensions?.code;
    const details = item.extensions?.errors ?? [];
    if (details.length) {
      for (const detail of details) {
        const path = String(detail.path ?? '').split('/').filter(Boolean);
        if (detail.field === 'params' && path.length) byField[`param:${path[0]}`] = detail.reason;
        else if (detail.field && detail.field !== 'params') byField[detail.field] = detail.reason ?? item.message;
        else general.push(detail.reason ?? item.message);
      }
    } else if (code === 'CONFLICT') byField.name = item.message;
    else general.push(item.message);
  }
  return { byField, general };
}

function CreateForm({ plugins }) {
  const loaded = plugins.filter((plugin) => plugin.status === 'LOADED');
  const [pluginName, setPluginName] = useState(loaded[0]?.name ?? '');
  const plugin = loaded.find((p) => p.name === pluginName);
  const schema = plugin?.paramsSchema ?? {};
  const [name, setName] = useState('');
  const [mode, setMode] = useState('DYNAMIC');
  const [interval, setRefreshInterval] = useState('');
  const [texts, setTexts] = useState({});
  const [errors, setErrors] = useState({});
  const [general, setGeneral] = useState([]);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setTexts({});
    setErrors({});
    setGeneral([]);
  }, [pluginName]);
  if (!loaded.length) return html`<p class="empty">No strategy is loaded, so none can be used.</p>`;
  const submit = async (event) => {
    event.preventDefault();
    const found = {};
    if (!name.trim()) found.name = 'is required';
    const seconds = interval.trim() === '' ? null : Number(interval);
    if (seconds !== null && (!Number.isInteger(seconds) || seconds < 60)) found.refreshIntervalSeconds = 'must be a whole number of seconds, at least 60';
    const { params, errors: paramErrors } = collectParams(schema, texts);
    for (const [key, message] of Object.entries(paramErrors)) found[`param:${key}`] = message;
    setErrors(found);
    setGeneral([]);
    if (Object.keys(found).length) {
      setTimeout(() => {
        const first = document.querySelector('.field.invalid input, .field.invalid select, .field.invalid textarea');
        first?.focus();
        first?.scrollIntoView({ block: 'center' });
      });
      return;
    }
    setBusy(true);
    try {
      const input = { name: name.trim(), strategy: pluginName, params, mode, refreshIntervalSeconds: seconds };
      const data = await gql(CREATE, { input });
      navigate(href('segmentations', data.createSegmentation.id));
    } catch (error) {
      const { byField, general: other } = serverErrors(error);
      setErrors(byField);
      setGeneral(other.length || Object.keys(byField).length ? other : [error.message]);
      // Take the reader to the first problem, as for the form's own checks.
      setTimeout(() => {
        const first = document.querySelector('#form-error, .field.invalid input, .field.invalid select, .field.invalid textarea');
        first?.focus?.();
        first?.scrollIntoView?.({ block: 'center' });
      });
    } finally {
      setBusy(false);
    }
  };
  const paramErrors = Object.fromEntries(Object.entries(errors).filter(([key]) => key.startsWith('param:')).map(([key, value]) => [key.slice(6), value]));
  const fieldError = (key) => errors[key] && html`<p class="field-error" id=${`${key}-error`} role="alert">${errors[key]}</p>`;
  return html`<form id="create-form" onSubmit=${submit} novalidate>
    ${general.length > 0 && html`<div class="error" role="alert" id="form-error" tabindex="-1">${general.map((message) => html`<p>${message}</p>`)}</div>`}
    <div class="field">
      <label for="create-strategy">Strategy</label>
      <select id="create-strategy" value=${pluginName} onChange=${(event) => setPluginName(event.target.value)}>
        ${loaded.map((p) => html`<option value=${p.name}>${p.name}</option>`)}
      </select>
      <p class="hint">${plugin?.description}</p>
    </div>
    <div class=${`field${errors.name ? ' invalid' : ''}`} data-field="name">
      <label for="create-name">Name *</label>
      <input id="create-name" value=${name} onInput=${(event) => setName(event.target.value)} onChange=${(event) => setName(event.target.value)}
        aria-invalid=${errors.name ? 'true' : undefined} aria-describedby=${errors.name ? 'name-error' : undefined} />
      ${fieldError('name')}
    </div>
    <div class="field-row">
      <div class="field">
        <label for="create-mode">Mode</label>
        <select id="create-mode" value=${mode} onChange=${(event) => setMode(event.target.value)}>
          <option value="DYNAMIC">dynamic (kept true on every write)</option>
          <option value="STATIC">static (members by hand)</option>
        </select>
      </div>
      <div class=${`field${errors.refreshIntervalSeconds ? ' invalid' : ''}`} data-field="refreshIntervalSeconds">
        <label for="create-interval">Refit every (seconds)</label>
        <input id="create-interval" type="number" min="60" step="1" value=${interval} placeholder="on demand"
          onInput=${(event) => setRefreshInterval(event.target.value)} onChange=${(event) => setRefreshInterval(event.target.value)} aria-describedby=${errors.refreshIntervalSeconds ? 'refreshIntervalSeconds-error' : undefined} />
        ${fieldError('refreshIntervalSeconds')}
      </div>
    </div>
    <fieldset>
      <legend>Parameters</legend>
      <${SchemaFields} schema=${schema} texts=${texts} errors=${paramErrors} defaults=${plugin?.defaultParams ?? {}}
        onChange=${(key, value) => setTexts({ ...texts, [key]: value })} />
    </fieldset>
    <button type="submit" id="create-submit" disabled=${busy}>${busy ? 'Creating…' : 'Create segmentation'}</button>
  </form>`;
}

/** The plugins page. */
export function PluginsPage() {
  const { data, error } = useQuery(PLUGINS);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  return html`
    <${PageHeader} title="Plugins" subtitle="Segmentation strategies the server was configured with." />
    <${Card} title="Loaded and refused" id="plugins"><${PluginTable} plugins=${data.plugins} /><//>
    <${Card} title="New segmentation" id="create"><${CreateForm} plugins=${data.plugins} /><//>
  `;
}
