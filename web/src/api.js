// The dashboard is a GraphQL client like any other: queries and mutations over HTTP POST to
// /graphql, subscriptions over graphql-transport-ws at /graphql/ws.
import { createClient } from 'graphql-ws';

/** A request the server answered with errors (or could not answer). */
export class GraphQLRequestError extends Error {
  constructor(errors) {
    super(errors.map((error) => error.message).join('; ') || 'request failed');
    this.errors = errors;
  }

  /** The `code` extension of the first error (VALIDATION, NOT_FOUND, CONFLICT, ...). */
  get code() {
    return this.errors[0]?.extensions?.code;
  }
}

// The API key, when the server requires one. Kept for this browser tab only.
const KEY_STORAGE = 'kindred.apiKey';
const authListeners = new Set();

/** The key the dashboard signs its requests with, if any. */
export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

/** Signs requests with `key` from now on (and reconnects live updates with it). */
export function signIn(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
  resetSubscriptions();
}

/** Forgets the key. */
export function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  resetSubscriptions();
  for (const listener of authListeners) listener();
}

/** Calls `listener` whenever the server asks for a (valid) key. Returns the unsubscribe. */
export function onAuthRequired(listener) {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

/** The Authorization header for the current key, if any. */
export function authHeaders() {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** Sends one query or mutation; resolves to its `data`, rejects with GraphQLRequestError. */
export async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...authHeaders() },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new GraphQLRequestError([{ message: `the server cannot be reached (${error.message})` }]);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphQLRequestError([{ message: `the server answered HTTP ${response.status}` }]);
  }
  if (response.status === 401) for (const listener of authListeners) listener();
  if (body.errors?.length) throw new GraphQLRequestError(body.errors);
  return body.data;
}

/** Downloads `path` (a CSV export) with the key, as the file `name`. */
export async function download(path, name) {
  const response = await fetch(path, { headers: authHeaders() });
  if (response.status === 401) for (const listener of authListeners) listener();
  if (!response.ok) throw new Error(`the export failed: HTTP ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

let client;
// Close codes of a refused connection_init (graphql-ws uses 4401/4403; async-graphql 1002).
const REFUSED = [1002, 4401, 4403];

function resetSubscriptions() {
  client?.dispose();
  client = undefined;
}

const liveListeners = new Set();
let liveState = 'idle';

function setLive(state) {
  liveState = state;
  document.documentElement.dataset.live = state;
  for (const listener of liveListeners) listener(state);
}

/** Follows the subscription connection: 'idle', 'connecting', 'live' or 'offline'. */
export function onLiveState(listener) {
  liveListeners.add(listener);
  listener(liveState);
  return () => liveListeners.delete(listener);
}

function subscriptionClient() {
  if (!client) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    client = createClient({
      url: `${scheme}://${location.host}/graphql/ws`,
      lazy: true,
      connectionParams: () => authHeaders(),
      // A server restart or a dropped connection is retried for as long as the page is open.
      retryAttempts: Number.MAX_SAFE_INTEGER,
      // A refused key (4401, 4403) is not retried: the dashboard asks for another.
      shouldRetry: (event) => !(event && REFUSED.includes(event.code)),
      on: {
        connecting: () => setLive('connecting'),
        connected: () => setLive('live'),
        // The connection closes normally once no page listens (code 1000); anything else is
        // a lost connection, which is retried.
        closed: (event) => {
          setLive(event?.code === 1000 ? 'idle' : 'offline');
          if (REFUSED.includes(event?.code)) for (const listener of authListeners) listener();
        },
      },
    });
  }
  return client;
}

/** Subscribes; calls `onData` with each event's data. Returns the function that unsubscribes. */
export function subscribe(query, variables, onData, onError) {
  return subscriptionClient().subscribe(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) onError?.(new GraphQLRequestError(result.errors));
        else if (result.data) onData(result.data);
      },
      error: (error) => onError?.(error instanceof Error ? error : new Error('subscription closed')),
      complete: () => {},
    },
  );
}
