// Hash routes (`#/segmentations/3`): the server has one page to serve and links work offline.
// A hand-written matcher is a dozen lines; a router library would add more than it saves.
import { useEffect, useState } from 'preact/hooks';

/** The current route: path segments (decoded) and query parameters. */
export function currentRoute() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part; // a malformed escape: shown as typed, it matches no page
    }
  });
  return { parts, params: new URLSearchParams(search), path: hash };
}

/** The route, updated on navigation. */
export function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const changed = () => setRoute(currentRoute());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** A link target for path segments, each encoded. */
export function href(...parts) {
  return `#/${parts.map((part) => encodeURIComponent(String(part))).join('/')}`;
}

/** Navigates to a link target made by `href`. */
export function navigate(target) {
  location.hash = target.replace(/^#/, '');
}
