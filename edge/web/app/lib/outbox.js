// The outbox: every action a person takes (a seal check, a cancel, a typed scan) is written to
// IndexedDB with its own idempotency key before it is sent, and stays there until the hub has
// answered. With the station away it waits, and is sent, in order, when the link returns. The
// hub keeps each key with its first answer, so a resend (the answer was lost on the way back)
// is answered from that record and never journalled twice. An action the hub refuses on replay
// (the package was closed meanwhile) stays, marked refused with the hub's reason, until the
// person does it again or discards it.
import { api, ApiError } from "./api.js";
import { dropOutbox, outboxRows, putOutbox } from "./db.js";
import { app, createStore } from "./store.js";

export const KEY_HEADER = "Idempotency-Key";
export const outbox = createStore({ rows: [], flushing: false });
let flushing = null;

export function newKey() {
  // getRandomValues works outside a secure context too (a handheld on plain HTTP)
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function reload() {
  outbox.set({ rows: await outboxRows() });
}

/** A refusal is the hub's word on the action; no answer (or a 5xx, a 429) is no word yet. */
function unanswered(error) {
  return !(error instanceof ApiError) || error.status === 0 || error.status === 401 || error.status === 429 || error.status >= 500;
}

async function send(row, token) {
  try {
    const { data } = await api(row.path, {
      method: "POST",
      body: row.body,
      token,
      headers: { [KEY_HEADER]: row.key },
    });
    await dropOutbox(row.key);
    return { state: "done", message: data?.message ?? "", data };
  } catch (error) {
    if (unanswered(error)) {
      await putOutbox({ ...row, tries: (row.tries ?? 0) + 1 });
      return { state: "pending" };
    }
    return { state: "refused", code: error.code, message: error.message };
  }
}

/**
 * Do an action: kept in the outbox first, then sent. Returns {state: "done"|"pending"|"refused",
 * message}. A refusal at once (the station answered) is not kept: the screen shows it now.
 */
export async function perform({ path, body, label, token }) {
  const session = app.get().session;
  const row = {
    key: newKey(),
    path,
    body,
    label,
    operator_id: session?.operator_id ?? null,
    created: new Date().toISOString(),
    state: "pending",
    tries: 0,
  };
  await putOutbox(row);
  await flushing; // what was waiting goes first
  const waiting = (await outboxRows()).some((r) => r.state === "pending" && r.key !== row.key && r.operator_id === row.operator_id);
  const outcome = waiting ? { state: "pending" } : await send(row, token);
  if (outcome.state === "refused") await dropOutbox(row.key);
  await reload();
  if (waiting) flush();
  return outcome;
}

/** Send what waits, oldest first, for the person signed in now; stop at the first unanswered. */
export function flush() {
  flushing ??= (async () => {
    outbox.set({ flushing: true });
    try {
      const session = app.get().session;
      if (!session) return;
      for (const row of await outboxRows()) {
        if (row.state !== "pending" || row.operator_id !== session.operator_id) continue;
        const outcome = await send(row, session.token);
        if (outcome.state === "pending") break;
        if (outcome.state === "refused") {
          await putOutbox({ ...row, state: "refused", code: outcome.code, message: outcome.message, refused_at: new Date().toISOString() });
        }
        outbox.set({ sent: (outbox.get().sent ?? 0) + 1 });
      }
    } finally {
      await reload();
      outbox.set({ flushing: false });
      flushing = null;
    }
  })();
  return flushing;
}

/** Do a refused action again, as a new action (a new key: the hub's word on the old one stands). */
export async function again(row) {
  await dropOutbox(row.key);
  await putOutbox({ ...row, key: newKey(), state: "pending", code: undefined, message: undefined, tries: 0, created: new Date().toISOString() });
  await reload();
  return flush();
}

export async function discard(row) {
  await dropOutbox(row.key);
  await reload();
}

/** Flush whenever the station is reachable again, and once at start. */
export function startOutbox() {
  reload();
  let previous = app.get().link;
  app.subscribe((state) => {
    const back = (state.link === "online" || state.link === "live") && state.link !== previous;
    previous = state.link;
    if (back && state.session) flush();
  });
  window.addEventListener("online", () => flush());
  flush();
}
