// Small hooks shared by the pages: load a query, follow a subscription, read the route.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { gql, subscribe } from './api.js';

/** Runs `query` whenever `variables` change; `reload` runs it again. */
export function useQuery(query, variables = {}) {
  const key = JSON.stringify(variables);
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const load = useCallback(() => {
    const mine = ++generation.current;
    setState((previous) => ({ ...previous, loading: true }));
    gql(query, JSON.parse(key)).then(
      (data) => mine === generation.current && setState({ data, error: null, loading: false }),
      (error) => mine === generation.current && setState({ data: null, error, loading: false }),
    );
  }, [query, key]);
  useEffect(load, [load]);
  return { ...state, reload: load };
}

/** Follows `query` while the component is shown; `onData` gets each event. */
export function useSubscription(query, variables, onData) {
  const handler = useRef(onData);
  handler.current = onData;
  const key = JSON.stringify(variables);
  useEffect(
    () =>
      subscribe(
        query,
        JSON.parse(key),
        (data) => handler.current(data),
        (error) => console.warn('subscription:', error.message),
      ),
    [query, key],
  );
}

/** Calls `fn` once `value` has stopped changing for `ms` milliseconds. */
export function useDebounced(value, ms) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
