// Sign-in with an API key, shown when the server asks for one.
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { gql, signIn, signOut } from './api.js';
import { PageHeader } from './ui.js';

/** Asks for a key, checks it can read, and keeps it for this tab. */
export function SignIn({ onSignedIn }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const wanted = key.trim();
    if (!wanted) {
      setError('Enter an API key.');
      return;
    }
    setBusy(true);
    setError('');
    signIn(wanted);
    try {
      await gql('{ stats { customers } }');
      onSignedIn();
    } catch (failure) {
      signOut();
      setError(
        failure.code === 'FORBIDDEN'
          ? 'This key cannot read (its role is ingest): use an analyst, editor or admin key.'
          : failure.code === 'UNAUTHENTICATED'
            ? 'This key is not valid: it is unknown or revoked.'
            : failure.message,
      );
    } finally {
      setBusy(false);
    }
  };
  return html`
    <${PageHeader} title="Sign in" subtitle="This Kindred server requires an API key." />
    <form class="card sign-in" id="sign-in" onSubmit=${submit} novalidate>
      <div class=${`field${error ? ' invalid' : ''}`}>
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autocomplete="off" spellcheck="false" value=${key} autofocus
          onInput=${(event) => setKey(event.target.value)} onChange=${(event) => setKey(event.target.value)}
          aria-invalid=${error ? 'true' : undefined} aria-describedby=${error ? 'api-key-hint api-key-error' : 'api-key-hint'} />
        <p class="hint" id="api-key-hint">An administrator makes one with <code>kindred keys create --role analyst --name NAME</code>. It is kept for this browser tab only.</p>
        ${error && html`<p class="field-error" id="api-key-error" role="alert">${error}</p>`}
      </div>
      <button type="submit" id="sign-in-submit" disabled=${busy}>${busy ? 'Checking…' : 'Sign in'}</button>
    </form>
  `;
}
