// The app's IndexedDB: the signed-in session (so a reload offline keeps it) and small values
// such as the live feed's last seen seq.
import { openDB } from "idb";

const DB_NAME = "edge-station";
let opening = null;

function db() {
  opening ??= openDB(DB_NAME, 1, {
    upgrade(database) {
      database.createObjectStore("kv");
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
