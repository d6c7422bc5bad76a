// What waits in the outbox for the station, and what the station refused when it was sent: each
// with what to do about it (send now, do again, discard).
import { useEffect } from "preact/hooks";
import { html } from "../lib/html.js";
import { formatTime, t } from "../lib/i18n.js";
import { again, discard, flush, outbox } from "../lib/outbox.js";
import { useStore } from "../lib/store.js";

export function Outbox({ session, onSent }) {
  const state = useStore(outbox);
  useEffect(() => {
    if (state.sent && onSent) onSent();
  }, [state.sent]);
  const rows = state.rows;
  if (!rows.length) return null;
  const pending = rows.filter((row) => row.state === "pending");
  const refused = rows.filter((row) => row.state === "refused");
  return html`<section class=${`outbox${refused.length ? " has-refused" : ""}`} aria-labelledby="outbox-title">
    <h2 id="outbox-title">${t("outbox.title")}</h2>
    ${refused.length
      ? html`<ul class="outbox-rows refused">
          ${refused.map(
            (row) => html`<li class="outbox-row bad" data-outbox="refused" data-key=${row.key}>
              <p class="what"><span class="pill bad">${t("outbox.refused")}</span> ${row.label}</p>
              <p class="why">${row.message}</p>
              <p class="when">${t("outbox.done_at", { time: formatTime(row.created) })}</p>
              <div class="actions">
                <button type="button" class="quiet" data-do="again" onClick=${() => again(row)}>${t("outbox.again")}</button>
                <button type="button" class="quiet" data-do="discard" onClick=${() => discard(row)}>${t("outbox.discard")}</button>
              </div>
            </li>`,
          )}
        </ul>`
      : null}
    ${pending.length
      ? html`<ul class="outbox-rows pending">
          ${pending.map(
            (row) => html`<li class="outbox-row wait" data-outbox="pending" data-key=${row.key}>
              <p class="what"><span class="pill wait">${t("outbox.pending")}</span> ${row.label}</p>
              <p class="when">${row.operator_id && row.operator_id !== session.operator_id
                ? t("outbox.other_person", { who: row.operator_id })
                : t("outbox.done_at", { time: formatTime(row.created) })}</p>
              <div class="actions">
                <button type="button" class="quiet" data-do="send" onClick=${() => flush()}>${t("outbox.send_now")}</button>
                <button type="button" class="quiet" data-do="discard" onClick=${() => discard(row)}>${t("outbox.discard")}</button>
              </div>
            </li>`,
          )}
        </ul>`
      : null}
  </section>`;
}
