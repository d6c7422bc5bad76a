// Start: the language, the service worker (offline shell), the kept session, the app, and the
// outbox (what waits is sent when the station answers).
import { render } from "preact";
import { App } from "./app.js";
import { html } from "./lib/html.js";
import { pickLanguage, setLanguage, t } from "./lib/i18n.js";
import { startOutbox } from "./lib/outbox.js";
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
    startOutbox();
  });
