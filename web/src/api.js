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

/** Sends one query or mutation; resolves to its `data`, rejects with GraphQLRequestError. */
export async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
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
  if (body.errors?.length) throw new GraphQLRequestError(body.errors);
  return body.data;
}

let client;
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
      // A server restart or a dropped connection is retried for as long as the page is open.
      retryAttempts: Number.MAX_SAFE_INTEGER,
      shouldRetry: () => true,
      on: {
        connecting: () => setLive('connecting'),
        connected: () => setLive('live'),
        // The connection closes normally once no page listens (code 1000); anything else is
        // a lost connection, which is retried.
        closed: (event) => setLive(event?.code === 1000 ? 'idle' : 'offline'),
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
