// Who is signed in on this device: kept in IndexedDB so a reload (or the station being away)
// keeps the person signed in; the live feed runs while someone is.
import { api, ApiError } from "./api.js";
import { forget, load, save } from "./db.js";
import { LiveFeed } from "./feed.js";
import { app, createStore } from "./store.js";

const SESSION = "session";
const LAST_SEQ = "feed.lastSeq";
const RECENT_EVENTS = "feed.recent";
const RECENT = 12;

// what the live feed brought: recent custody events, device statuses, latest readings
export const live = createStore({ events: [], devices: {}, readings: {} });
let feed = null;

export async function restore() {
  const session = await load(SESSION);
  if (session && new Date(session.expires_at) > new Date()) {
    app.set({ session });
    await startFeed(session);
  } else if (session) {
    await forget(SESSION);
  }
  return app.get().session;
}

/** Sign in with a scanned badge or a typed operator id; throws ApiError. */
export async function signIn({ badge, operatorId, pin }) {
  const body = badge ? { badge, pin } : { operator_id: operatorId, pin };
  const { data } = await api("/api/v1/auth/sign-in", { method: "POST", body });
  const session = {
    token: data.token,
    operator_id: data.operator_id,
    name: data.name,
    role: data.role,
    expires_at: data.expires_at,
  };
  await save(SESSION, session);
  app.set({ session });
  await startFeed(session);
  return session;
}

export async function signOut() {
  const session = app.get().session;
  stopFeed();
  if (session) {
    try {
      await api("/api/v1/auth/sign-out", { method: "POST", token: session.token });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // unreachable or already ended: the token is forgotten here all the same
    }
  }
  await endLocally();
}

/** The hub says the session is over (signed out elsewhere, expired, disabled). */
export async function endLocally() {
  stopFeed();
  await forget(SESSION);
  await forget(LAST_SEQ);
  await forget(RECENT_EVENTS);
  navigator.serviceWorker?.controller?.postMessage({ type: "signed-out" });
  live.set({ events: [], devices: {}, readings: {} });
  app.set({ session: null, feedState: "idle" });
}

async function startFeed(session) {
  stopFeed();
  const lastSeq = (await load(LAST_SEQ)) ?? null;
  live.set({ events: lastSeq === null ? [] : ((await load(RECENT_EVENTS)) ?? []) });
  feed = new LiveFeed({
    token: session.token,
    lastSeq,
    backfill: RECENT,
    on: {
      event(event) {
        const events = [event, ...live.get().events].slice(0, RECENT);
        live.set({ events });
        save(RECENT_EVENTS, events).catch(() => {});
      },
      reading(message) {
        live.set({ readings: { ...live.get().readings, [message.device]: message } });
      },
      deviceStatus(status) {
        live.set({ devices: { ...live.get().devices, [status.device]: status } });
      },
      seq(seq) {
        save(LAST_SEQ, seq).catch(() => {});
      },
      state(state) {
        app.set({ feedState: state });
        if (state === "live") app.set({ link: "live" });
        else if (app.get().link === "live") app.set({ link: state === "offline" ? "offline" : "unknown" });
      },
      ended() {
        app.set({ notice: "session.ended" }); // said before the screen changes, never after it
        endLocally();
      },
    },
  }).start();
}

function stopFeed() {
  if (feed) feed.stop();
  feed = null;
}
