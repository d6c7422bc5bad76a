// The app's frame: the header on every screen, and the screen the route names. Signed out,
// every route shows the sign-in.
import { useEffect, useState } from "preact/hooks";
import { Header } from "./components/header.js";
import { probe } from "./lib/api.js";
import { signal } from "./lib/feedback.js";
import { html } from "./lib/html.js";
import { t } from "./lib/i18n.js";
import { navigate, useRoute } from "./lib/router.js";
import { signOut } from "./lib/session.js";
import { app, useStore } from "./lib/store.js";
import { SignIn } from "./screens/sign-in.js";
import { Dock } from "./screens/dock.js";
import { Status } from "./screens/status.js";

const PROBE_MS = 10_000;
const NOTICE_MS = 5_000; // a welcome or sign-out note goes after this; errors stay
const SCREENS = { "/dock": Dock, "/status": Status };
const NAV = [
  ["/dock", "nav.dock"],
  ["/status", "nav.status"],
];
const HOME = "/status";

export function App() {
  const state = useStore(app);
  const route = useRoute();
  const [notice, setNotice] = useState(null);

  useEffect(() => {
    // while the feed is not live, ask the hub now and then whether it answers
    const timer = setInterval(() => {
      if (app.get().link !== "live") probe();
    }, PROBE_MS);
    probe();
    return () => clearInterval(timer);
  }, []);

  useEffect(() => {
    if (state.notice) {
      setNotice(t(state.notice));
      app.set({ notice: null });
    }
  }, [state.notice]);

  useEffect(() => {
    if (!notice) return undefined;
    const timer = setTimeout(() => setNotice(null), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notice]);

  useEffect(() => {
    if (state.session && !SCREENS[route]) navigate(HOME);
  }, [state.session, route]);

  async function leave() {
    await signOut();
    setNotice(t("signout.done"));
    signal("success");
    navigate("/sign-in");
  }

  const Screen = SCREENS[route] ?? SCREENS[HOME];
  return html`
    <a class="skip" href="#main">${t("app.skip")}</a>
    <${Header} session=${state.session} link=${state.link} station=${state.station} onSignOut=${leave} />
    ${state.session
      ? html`<nav class="tabs" aria-label=${t("nav.label")}>
          ${NAV.map(
            ([path, key]) => html`<a href=${`#${path}`} data-nav=${path} aria-current=${route === path ? "page" : null}>${t(key)}</a>`,
          )}
        </nav>`
      : null}
    <main id="main" tabindex="-1">
      ${notice && html`<p class="banner ok" role="status">${notice}</p>`}
      ${state.session
        ? html`<${Screen} session=${state.session} />`
        : html`<${SignIn}
            onSignedIn=${(session) => {
              setNotice(t("signin.welcome", { name: session.name }));
              navigate(HOME);
            }}
          />`}
    </main>
  `;
}
