// The bar on every screen: the station's link state (colour and words), who is signed in, and
// the way to sign out.
import { html } from "../lib/html.js";
import { t } from "../lib/i18n.js";

const LINK_CLASS = { live: "ok", online: "ok", offline: "bad", unknown: "wait" };

export function Header({ session, link, station, onSignOut }) {
  return html`
    <header class="bar">
      <span class="station">${station || t("app.title")}</span>
      <div class="state">
        <span class=${`link ${LINK_CLASS[link] ?? "wait"}`} role="status" data-link=${link}>
          <span class="dot" aria-hidden="true"></span>${t(`link.${link}`)}
        </span>
        ${session
          ? html`<span class="person" data-operator=${session.operator_id}
              >${t("header.signed_in", { name: session.name, role: t(`role.${session.role}`) })}</span
            >`
          : html`<span class="person">${t("header.nobody")}</span>`}
      </div>
      ${session
        ? html`<button type="button" class="quiet sign-out" onClick=${onSignOut}>${t("header.sign_out")}</button>`
        : null}
    </header>
  `;
}
