// Hash routes (#/status): they work offline from the one precached page.
import { useEffect, useState } from "preact/hooks";

export function currentRoute() {
  const path = location.hash.replace(/^#/, "") || "/";
  return path.startsWith("/") ? path : `/${path}`;
}

export function navigate(path) {
  if (currentRoute() !== path) location.hash = `#${path}`;
}

export function useRoute() {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const changed = () => setRoute(currentRoute());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}
