// One small observable state for the app (session, link, language) and a hook to read it.
import { useEffect, useState } from "preact/hooks";

export function createStore(initial) {
  let state = initial;
  const listeners = new Set();
  return {
    get: () => state,
    set(patch) {
      state = { ...state, ...patch };
      for (const listener of listeners) listener(state);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function useStore(store) {
  const [state, setState] = useState(store.get());
  useEffect(() => {
    setState(store.get());
    return store.subscribe(setState);
  }, [store]);
  return state;
}

// link: "unknown" | "online" (the hub answers) | "live" (the feed is connected) | "offline"
export const app = createStore({ session: null, link: "unknown", feedState: "idle", lang: "en" });
