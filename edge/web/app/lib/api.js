// Calls to the hub's API: JSON in and out, the bearer token, errors as ApiError with the hub's
// code, and the link state from what happened (a reply from the service worker's cache of
// last-seen data means the station was not reached).
import { app } from "./store.js";

export const FROM_CACHE = "x-edge-from-cache";

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export async function api(path, { method = "GET", body, token, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    markLink("offline");
    throw new ApiError(0, "unreachable", "station unreachable");
  }
  const cachedAt = response.headers.get(FROM_CACHE);
  markLink(cachedAt ? "offline" : "online");
  if (response.status === 204) return { data: null, cachedAt: null };
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const retry = Number(response.headers.get("Retry-After")) || null;
    throw new ApiError(
      response.status,
      data?.error ?? "http_error",
      data?.message ?? response.statusText,
      retry,
    );
  }
  return { data, cachedAt };
}

export function markLink(state) {
  const current = app.get().link;
  if (state === "online" && current === "live") return; // the feed's word wins while it is up
  if (current !== state) app.set({ link: state });
}

/** Ask the open health endpoint (never cached) whether the hub answers. */
export async function probe() {
  try {
    const response = await fetch("/healthz", { cache: "no-store" });
    markLink(response.ok ? "online" : "offline");
  } catch {
    markLink("offline");
  }
}
