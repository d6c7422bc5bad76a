// Dock receiving: the label on the scale and the return it should be, the live weight against
// the expected band, the evidence photo, the seal check, cancel with a reason, and a banner for
// every exception the hub raised on the package. Big type and words with every colour: it is
// read from a step away at a noisy dock.
import { useEffect, useRef, useState } from "preact/hooks";
import { ScanInput } from "../components/scan-input.js";
import { Outbox } from "../components/outbox.js";
import { api, ApiError } from "../lib/api.js";
import { signal } from "../lib/feedback.js";
import { html } from "../lib/html.js";
import { has, t } from "../lib/i18n.js";
import { perform } from "../lib/outbox.js";
import { endLocally, live } from "../lib/session.js";
import { app, useStore } from "../lib/store.js";

const DOCK_EVENTS = new Set([
  "label.scanned",
  "package.weighed",
  "photo.captured",
  "seal.checked",
  "package.received",
  "receipt.cancelled",
  "exception.raised",
]);
const CANCEL_REASONS = ["dock.reason_misscan", "dock.reason_wrong_box", "dock.reason_double"];

function grams(value) {
  if (value == null || value === "") return "—";
  const number = Number(value);
  return Number.isFinite(number) ? `${number.toLocaleString(app.get().lang)} g` : `${value} g`;
}

async function loadDock(token) {
  const { data, cachedAt } = await api("/api/v1/dock", { token });
  const current = data.current;
  let expected = null;
  let exceptions = [];
  if (current) {
    const [record, open] = await Promise.all([
      current.return_id
        ? api(`/api/v1/returns/${encodeURIComponent(current.return_id)}`, { token }).catch(() => null)
        : null,
      api("/api/v1/exceptions?status=open&limit=50", { token }).catch(() => null),
    ]);
    expected = record?.data ?? null;
    exceptions = (open?.data.items ?? []).filter((item) => item.subject === current.subject);
  }
  return { current, expected, exceptions, cachedAt };
}

function exceptionText(item) {
  const kind = item.kind ?? item.payload?.exception;
  const title = has(`exception.${kind}`) ? t(`exception.${kind}`) : kind;
  return { kind, title, detail: item.message ?? item.payload?.message ?? "" };
}

function Expected({ current, expected }) {
  if (!current.return_id) {
    return html`<p class="big bad-text" data-expected="none">${t("dock.no_match")}</p>`;
  }
  const record = expected?.return ?? {};
  const device = [record.make, record.model].filter(Boolean).join(" ");
  return html`<div data-expected=${current.return_id}>
    <p class="big">${t("dock.return", { id: current.return_id })}</p>
    ${device ? html`<p class="device-name">${device}</p>` : null}
    ${record.declared_imei ? html`<p>IMEI ${record.declared_imei}</p>` : null}
    ${record.quote ? html`<p>${t("dock.quote", { quote: record.quote, currency: record.currency ?? "" })}</p>` : null}
  </div>`;
}

function Weight({ current, reading }) {
  const band = current?.band;
  const liveGrams = reading?.reading?.grams;
  const stable = reading?.reading?.stable;
  const recorded = current?.grams;
  const shown = recorded ?? liveGrams;
  let verdict = null;
  if (recorded != null && current.within_band === true) verdict = ["ok", t("dock.in_band")];
  else if (recorded != null && current.within_band === false) verdict = ["bad", t("dock.out_of_band")];
  else if (recorded != null) verdict = ["wait", t("dock.no_band")];
  return html`<div class="weight">
    <p class="weight-figure" data-grams=${shown ?? ""} aria-live="polite">${grams(shown)}</p>
    <p class="weight-state">
      ${recorded != null
        ? t("dock.weight_recorded")
        : liveGrams != null
          ? stable
            ? t("dock.weight_stable")
            : t("dock.weight_moving")
          : t("dock.weight_none")}
    </p>
    ${band
      ? html`<p class="band" data-band=${`${band.min_grams}-${band.max_grams}`}>
          ${t("dock.band", { min: grams(band.min_grams), max: grams(band.max_grams) })}
        </p>`
      : html`<p class="band">${t("dock.band_none")}</p>`}
    ${verdict ? html`<p class=${`pill ${verdict[0]}`} data-verdict=${verdict[0]}>${verdict[1]}</p>` : null}
  </div>`;
}

function Photo({ current }) {
  const photos = current?.photos ?? [];
  if (photos.length) {
    return html`<p class="pill ok" data-photo="taken">${t("dock.photo_taken", { count: photos.length })}</p>
      <p class="hash">${photos.map((sha) => sha.slice(0, 12)).join(" · ")}</p>`;
  }
  if (current?.photo_request) return html`<p class="pill wait" data-photo="waiting">${t("dock.photo_waiting")}</p>`;
  return html`<p class="quiet-text" data-photo="none">${t("dock.photo_none")}</p>`;
}

function CancelPanel({ onCancel, onClose }) {
  const [other, setOther] = useState("");
  const panel = useRef(null);
  useEffect(() => {
    panel.current?.scrollIntoView({ block: "start" }); // the reasons in view, not below the fold
  }, []);
  return html`<section class="cancel-panel" ref=${panel} aria-labelledby="cancel-title">
    <h2 id="cancel-title">${t("dock.cancel_why")}</h2>
    <div class="choices">
      ${CANCEL_REASONS.map(
        (key) => html`<button type="button" class="quiet" data-reason=${key} onClick=${() => onCancel(t(key))}>
          ${t(key)}
        </button>`,
      )}
    </div>
    <label for="cancel-other">${t("dock.reason_other")}</label>
    <div class="row">
      <input id="cancel-other" type="text" value=${other} onInput=${(e) => setOther(e.target.value)} />
      <button type="button" class="danger" disabled=${other.trim().length < 3} onClick=${() => onCancel(other.trim())}>
        ${t("dock.cancel_confirm")}
      </button>
    </div>
    <div class="actions"><button type="button" class="quiet" onClick=${onClose}>${t("dock.cancel_back")}</button></div>
  </section>`;
}

export function Dock({ session }) {
  const [dock, setDock] = useState(null);
  const [error, setError] = useState(null);
  const [said, setSaid] = useState(null); // the hub's last word: {kind, text}
  const [cancelling, setCancelling] = useState(false);
  const feed = useStore(live);
  const lastSeq = useRef(null);

  async function refresh() {
    try {
      const loaded = await loadDock(session.token);
      setDock(loaded);
      setError(null);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 401) {
        app.set({ notice: "session.ended" });
        await endLocally();
        return;
      }
      setError(failure);
    }
  }

  useEffect(() => {
    refresh();
  }, [session.token]);

  // every dock event the feed brings: refresh the package; an exception sounds at once
  useEffect(() => {
    const newest = feed.events[0];
    if (!newest || newest.seq === lastSeq.current) return;
    const fresh = feed.events.filter((event) => lastSeq.current == null || event.seq > lastSeq.current);
    const first = lastSeq.current == null;
    lastSeq.current = newest.seq;
    if (first || !fresh.some((event) => DOCK_EVENTS.has(event.type))) return;
    if (fresh.some((event) => event.type === "label.scanned")) setSaid(null); // a new box: old words go
    // what a new box or an exception says is at the top: bring it into view
    if (fresh.some((event) => event.type === "label.scanned" || event.type === "exception.raised")) {
      window.scrollTo({ top: 0 });
    }
    if (fresh.some((event) => event.type === "exception.raised")) signal("exception");
    else if (fresh.some((event) => event.type === "package.received" || event.type === "label.scanned")) signal("success");
    const closed = fresh.find((event) => event.type === "package.received" || event.type === "receipt.cancelled");
    if (closed) setSaid({ kind: closed.type === "package.received" ? "ok" : "wait", text: t(`dock.${closed.type === "package.received" ? "received" : "cancelled"}`, { subject: closed.subject }) });
    refresh();
  }, [feed.events]);

  const weightReading = Object.values(feed.readings).find((message) => message.kind === "weight");

  async function act(kind, path, body, label) {
    setCancelling(false);
    const outcome = await perform({ path, body, label, token: session.token });
    window.scrollTo({ top: 0 }); // the answer (and the outbox) is at the top
    if (outcome.state === "done") {
      setSaid({ kind: "ok", text: outcome.message || t("dock.done") });
      signal("success");
      refresh();
    } else if (outcome.state === "pending") {
      setSaid({ kind: "wait", text: t("outbox.queued", { what: label }) });
    } else {
      setSaid({ kind: "bad", text: outcome.message });
      signal("exception");
    }
  }

  function typed(code) {
    act("scan", "/api/v1/scans", { code, flow: "dock" }, t("outbox.what_scan", { code }));
  }

  const current = dock?.current ?? null;
  const exceptions = (dock?.exceptions ?? []).map(exceptionText);
  return html`
    <section class="screen dock" aria-labelledby="dock-title">
      <h1 id="dock-title">${t("dock.title")}</h1>
      ${dock?.cachedAt || (error && !dock)
        ? html`<p class="banner wait" role="status">${t("dock.stale")}</p>`
        : null}
      ${exceptions.map(
        (item) => html`<div class="banner bad exception" role="alert" data-exception=${item.kind}>
          <strong class="exception-title">⚠ ${item.title}</strong>
          <span class="exception-detail">${item.detail}</span>
        </div>`,
      )}
      ${said ? html`<p class=${`banner ${said.kind}`} role="status" data-said=${said.kind}>${said.text}</p>` : null}
      <${Outbox} session=${session} onSent=${refresh} />
      ${current
        ? html`<p class="glance" data-glance=${current.subject}>
            <span class="glance-subject">${current.return_id ?? current.label}</span>
            <span class="glance-grams">${grams(current.grams ?? weightReading?.reading?.grams)}</span>
            ${current.within_band === false
              ? html`<span class="pill bad">${t("dock.out_of_band")}</span>`
              : current.within_band === true
                ? html`<span class="pill ok">${t("dock.in_band")}</span>`
                : html`<span class="pill wait">${t(`dock.stage_${current.stage}`)}</span>`}
          </p>
          <div class="dock-grid">
            <section class="card label-card" aria-label=${t("dock.label")}>
              <h2>${t("dock.label")}</h2>
              <p class="label-code" data-label=${current.label}>${current.label}</p>
              <${Expected} current=${current} expected=${dock.expected} />
              <p class="pill wait" data-stage=${current.stage}>${t(`dock.stage_${current.stage}`)}</p>
            </section>
            <section class=${`card weight-card ${current.within_band === false ? "bad" : current.within_band ? "ok" : ""}`} aria-label=${t("dock.weight")}>
              <h2>${t("dock.weight")}</h2>
              <${Weight} current=${current} reading=${weightReading} />
            </section>
            <section class="card photo-card" aria-label=${t("dock.photo")}>
              <h2>${t("dock.photo")}</h2>
              <${Photo} current=${current} />
            </section>
            <section class="card seal-card" aria-label=${t("dock.seal")}>
              <h2>${t("dock.seal")}</h2>
              <div class="actions seal">
                <button type="button" class="good" data-seal="intact" disabled=${current.stage !== "awaiting_seal"}
                  onClick=${() => act("seal", "/api/v1/dock/seal", { intact: true }, t("outbox.what_seal_intact"))}>
                  ${t("dock.seal_intact")}
                </button>
                <button type="button" class="danger" data-seal="broken" disabled=${current.stage !== "awaiting_seal"}
                  onClick=${() => act("seal", "/api/v1/dock/seal", { intact: false }, t("outbox.what_seal_broken"))}>
                  ${t("dock.seal_broken")}
                </button>
              </div>
              ${current.stage !== "awaiting_seal" ? html`<p class="quiet-text">${t("dock.seal_after_weight")}</p>` : null}
            </section>
          </div>
          ${cancelling
            ? html`<${CancelPanel}
                onClose=${() => setCancelling(false)}
                onCancel=${(reason) => act("cancel", "/api/v1/dock/cancel", { reason }, t("outbox.what_cancel", { subject: current.subject, reason }))}
              />`
            : html`<div class="actions"><button type="button" class="danger cancel" onClick=${() => setCancelling(true)}>
                ${t("dock.cancel")}
              </button></div>`}`
        : html`<p class="waiting-label" data-idle="true">${dock ? t("dock.idle") : t("status.loading")}</p>`}
      <${ScanInput} id="dock-scan" label=${t("dock.scan_label")} submitLabel=${t("scan.submit")} onSubmit=${typed} autoFocus=${false} />
    </section>
  `;
}
