// A text field for a keyboard-wedge scanner: it keeps focus, takes a burst of keys ending in
// Enter, and says whether they came from a scanner or from a person typing (by their timing).
import { useEffect, useRef } from "preact/hooks";
import { html } from "../lib/html.js";
import { classifyKeys } from "../lib/wedge.js";

/**
 * onSubmit(code, source): source is "scan" or "typed". `label` is the visible label; the field
 * takes focus when shown and again after each submit.
 */
export function ScanInput({ id, label, onSubmit, submitLabel, autoFocus = true, disabled = false }) {
  const field = useRef(null);
  const times = useRef([]);
  const lastKey = useRef(0);

  useEffect(() => {
    if (autoFocus && field.current) field.current.focus();
  }, [autoFocus]);

  function submit() {
    const code = field.current.value.trim();
    const source = classifyKeys(times.current);
    times.current = [];
    if (!code) return;
    field.current.value = "";
    onSubmit(code, source);
    field.current.focus();
  }

  function keyDown(event) {
    const now = event.timeStamp || performance.now();
    if (event.key === "Enter") {
      event.preventDefault();
      submit();
      return;
    }
    if (event.key.length === 1) {
      // a pause longer than any scanner's starts a new burst
      if (now - lastKey.current > 1000) times.current = [];
      times.current.push(now);
      lastKey.current = now;
    }
  }

  function pasted() {
    times.current = []; // a paste is a person's doing
  }

  return html`
    <div class="scan-input">
      <label for=${id}>${label}</label>
      <div class="row">
        <input
          id=${id}
          ref=${field}
          type="text"
          inputmode="text"
          autocomplete="off"
          autocapitalize="off"
          spellcheck="false"
          enterkeyhint="go"
          disabled=${disabled}
          onKeyDown=${keyDown}
          onPaste=${pasted}
        />
        <button type="button" class="primary" disabled=${disabled} onClick=${submit}>${submitLabel}</button>
      </div>
    </div>
  `;
}
