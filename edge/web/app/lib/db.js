// The app's IndexedDB: the signed-in session (so a reload offline keeps it), small values such
// as the live feed's last seen seq, and the outbox of actions waiting for the station.
import { openDB } from "idb";

const DB_NAME = "edge-station";
let opening = null;

function db() {
  opening ??= openDB(DB_NAME, 2, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) database.createObjectStore("kv");
      if (oldVersion < 2) database.createObjectStore("outbox", { keyPath: "key" });
    },
  });
  return opening;
}

export async function load(key) {
  try {
    return await (await db()).get("kv", key);
  } catch {
    return undefined;
  }
}

export async function save(key, value) {
  await (await db()).put("kv", value, key);
}

export async function forget(key) {
  await (await db()).delete("kv", key);
}

/** The outbox's rows (actions waiting or refused), oldest first. */
export async function outboxRows() {
  try {
    const rows = await (await db()).getAll("outbox");
    return rows.sort((a, b) => a.created.localeCompare(b.created));
  } catch {
    return [];
  }
}

export async function putOutbox(row) {
  await (await db()).put("outbox", row);
}

export async function dropOutbox(key) {
  await (await db()).delete("outbox", key);
}
