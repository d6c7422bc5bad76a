// Start: the language, the service worker (offline shell), the kept session, then the app.
import { render } from "preact";
import { App } from "./app.js";
import { html } from "./lib/html.js";
import { pickLanguage, setLanguage, t } from "./lib/i18n.js";
import { restore } from "./lib/session.js";
import { app } from "./lib/store.js";

const lang = setLanguage(pickLanguage());
document.title = t("app.title");
app.set({ lang });

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
}

restore()
  .catch(() => null)
  .then(() => {
    const root = document.getElementById("root");
    root.textContent = ""; // the boot line
    render(html`<${App} />`, root);
  });
