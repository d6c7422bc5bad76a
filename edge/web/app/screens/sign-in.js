// Sign-in: scan the badge (or type the operator ID), then the PIN. Errors say plainly what to do.
import { useEffect, useRef, useState } from "preact/hooks";
import { ScanInput } from "../components/scan-input.js";
import { ApiError } from "../lib/api.js";
import { signal } from "../lib/feedback.js";
import { html } from "../lib/html.js";
import { t } from "../lib/i18n.js";
import { signIn } from "../lib/session.js";

export function explain(error) {
  if (!(error instanceof ApiError)) return t("signin.failed", { message: String(error) });
  switch (error.code) {
    case "sign_in_failed":
      return t("signin.wrong");
    case "sign_in_held":
      return t("signin.held", { seconds: error.retryAfter ?? "?" });
    case "disabled":
      return t("signin.disabled");
    case "unreachable":
      return t("signin.unreachable");
    default:
      return t("signin.failed", { message: error.message });
  }
}

export function SignIn({ onSignedIn }) {
  const [who, setWho] = useState(null); // {badge} or {operatorId}
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const pin = useRef(null);

  useEffect(() => {
    // after each answer too: the field was disabled while the hub checked the PIN
    if (who && !busy && pin.current) pin.current.focus();
  }, [who, busy]);

  function identified(code, source) {
    setError(null);
    setWho(source === "scan" ? { badge: code } : { operatorId: code });
    if (source === "scan") signal("success");
  }

  async function submit(event) {
    event.preventDefault();
    const value = pin.current.value;
    if (!value) return;
    setBusy(true);
    try {
      const session = await signIn({ ...who, pin: value });
      signal("success");
      onSignedIn(session);
    } catch (failure) {
      pin.current.value = "";
      setError(explain(failure));
      signal("exception");
      setBusy(false);
    }
  }

  return html`
    <section class="screen sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">${t("signin.title")}</h1>
      ${error && html`<p class="banner bad" role="alert">${error}</p>`}
      ${!who
        ? html`<${ScanInput}
            id="badge"
            label=${t("signin.badge_label")}
            submitLabel=${t("signin.next")}
            onSubmit=${identified}
          />`
        : html`
            <form class="pin" onSubmit=${submit}>
              <p class="who-step" data-source=${who.badge ? "scan" : "typed"}>
                ${who.badge ? t("signin.scanned") : t("signin.typed", { id: who.operatorId })}
              </p>
              <label for="pin">${t("signin.pin_label")}</label>
              <input
                id="pin"
                ref=${pin}
                type="password"
                inputmode="numeric"
                autocomplete="off"
                enterkeyhint="done"
                disabled=${busy}
              />
              <div class="actions">
                <button type="submit" class="primary" disabled=${busy}>${t("signin.submit")}</button>
                <button
                  type="button"
                  class="quiet"
                  onClick=${() => {
                    setWho(null);
                    setError(null);
                  }}
                >
                  ${t("signin.back")}
                </button>
              </div>
            </form>
          `}
    </section>
  `;
}
