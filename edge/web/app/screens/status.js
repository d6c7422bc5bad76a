// Station status: devices online or not, the upstream backlog, the clock, the disk, and what
// the live feed brought. Shows the last-seen figures (with their time) when the station is away.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../lib/api.js";
import { html } from "../lib/html.js";
import { formatAge, formatBytes, formatTime, has, t } from "../lib/i18n.js";
import { endLocally, live } from "../lib/session.js";
import { app, useStore } from "../lib/store.js";

const REFRESH_MS = 15_000;
const DISK_LOW = 0.1; // below a tenth free: warn
const DEVICE_CLASS = { online: "ok", offline: "bad", error: "bad", silent: "wait", attention: "wait" };

async function loadStatus(token) {
  const [station, devices, replication] = await Promise.all([
    api("/api/v1/station", { token }),
    api("/api/v1/devices", { token }),
    api("/api/v1/replication", { token }),
  ]);
  const cachedAt = [station, devices, replication].map((r) => r.cachedAt).find(Boolean) ?? null;
  return { station: station.data, devices: devices.data.devices, replication: replication.data, cachedAt };
}

function Card({ title, state, children, name }) {
  return html`<section class=${`card ${state ?? ""}`} data-card=${name} aria-label=${title}>
    <h2>${title}</h2>
    ${children}
  </section>`;
}

function Devices({ devices, liveDevices, readings, stale }) {
  return html`<ul class="devices">
    ${devices.map((slot) => {
      const status = liveDevices[slot.device] ?? slot.status;
      const state = slot.enabled === false ? "disabled" : (status?.state ?? "unknown");
      const reading = readings[slot.device];
      return html`<li class=${`device ${stale ? "stale" : (DEVICE_CLASS[state] ?? "wait")}`} data-device=${slot.device} data-state=${state}>
        <span class="what"><span class="name">${slot.device}</span> <span class="kind">${slot.kind}</span></span>
        <span class="state"><span class="dot" aria-hidden="true"></span>${stale
          ? t("status.last_seen", { state: t(`status.device_${state}`) })
          : t(`status.device_${state}`)}</span>
        ${status?.reason && state !== "online" ? html`<span class="reason">${status.reason}</span>` : null}
        ${reading ? html`<span class="reading">${describeReading(reading)}</span>` : null}
      </li>`;
    })}
  </ul>`;
}

function describeReading(message) {
  const reading = message.reading ?? {};
  if (message.kind === "scan") return reading.code;
  if (message.kind === "weight") return `${reading.grams} g${reading.stable ? "" : " …"}`;
  return message.kind;
}

function Activity({ events }) {
  if (!events.length) return html`<p class="quiet-text">${t("status.activity_none")}</p>`;
  return html`<ol class="activity">
    ${events.map(
      (event) => html`<li data-seq=${event.seq} data-type=${event.type} class=${event.type.startsWith("exception.raised") ? "bad" : ""}>
        <span class="seq">#${event.seq}</span>
        <span class="type">${has(`event.${event.type}`) ? t(`event.${event.type}`) : event.type}</span>
        <span class="subject">${event.subject ?? ""}</span>
        <time datetime=${event.ts}>${formatTime(event.ts)}</time>
      </li>`,
    )}
  </ol>`;
}

export function Status({ session }) {
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const feed = useStore(live);

  useEffect(() => {
    let stopped = false;
    async function refresh() {
      try {
        const loaded = await loadStatus(session.token);
        if (!stopped) {
          setStatus(loaded);
          app.set({ station: `${loaded.station.site} / ${loaded.station.station}` });
          setError(null);
        }
      } catch (failure) {
        if (failure instanceof ApiError && failure.status === 401) {
          // the hub ended the session (signed out elsewhere, expired, disabled)
          app.set({ notice: "session.ended" });
          await endLocally();
          return;
        }
        if (!stopped) setError(failure);
      }
    }
    refresh();
    const timer = setInterval(refresh, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [session.token]);

  if (!status) {
    return html`<section class="screen status"><h1>${t("status.title")}</h1>
      ${error
        ? html`<p class="banner bad" role="alert">${t("status.failed", { message: error.message })}</p>`
        : html`<p>${t("status.loading")}</p>`}
    </section>`;
  }
  const { station, devices, replication, cachedAt } = status;
  const backlog = replication.backlog?.events ?? 0;
  const disk = station.disk;
  const diskLow = disk && disk.free_bytes < disk.total_bytes * DISK_LOW;
  const synced = station.clock === "synced";
  return html`
    <section class="screen status" aria-labelledby="status-title">
      <h1 id="status-title">${t("status.title")}</h1>
      ${cachedAt && html`<p class="banner wait" role="status">${t("status.stale", { time: formatTime(cachedAt) })}</p>`}
      <div class=${`cards${cachedAt ? " stale" : ""}`}>
        <${Card} name="station" title=${t("status.station")} state=${station.bus?.connected === false ? "bad" : "ok"}>
          <p class="big">${station.site} / ${station.station}</p>
          <p>${station.role} · ${t("status.journal", { size: Math.max(station.journal.size, feed.events[0]?.seq ?? 0) })}</p>
          ${station.bus?.connected === false ? html`<p class="bad-text">${t("status.bus_down")}</p>` : null}
        <//>
        <${Card} name="replication" title=${t("status.replication")} state=${replication.status === "alarm" ? "bad" : backlog ? "wait" : "ok"}>
          <p class="big">${backlog ? t("status.backlog", { events: backlog }) : t("status.backlog_none")}</p>
          ${backlog && replication.backlog?.oldest_age_s != null
            ? html`<p>${t("status.oldest", { age: formatAge(replication.backlog.oldest_age_s) })}</p>`
            : null}
          ${replication.status === "off"
            ? html`<p>${t("status.replication_off", { problem: replication.problem ?? "" })}</p>`
            : null}
        <//>
        <${Card} name="clock" title=${t("status.clock")} state=${synced ? "ok" : "wait"}>
          <p class="big">${synced ? t("status.clock_synced") : t("status.clock_unsynced")}</p>
          ${synced ? null : html`<p>${t("status.clock_unsynced_note")}</p>`}
          ${station.time ? html`<p><time datetime=${station.time}>${formatTime(station.time)}</time></p>` : null}
        <//>
        ${disk && html`<${Card} name="disk" title=${t("status.disk")} state=${diskLow ? "bad" : "ok"}>
          <p class="big">${diskLow
            ? t("status.disk_low", { free: formatBytes(disk.free_bytes) })
            : t("status.disk_free", { free: formatBytes(disk.free_bytes), total: formatBytes(disk.total_bytes) })}</p>
        <//>`}
        <${Card} name="devices" title=${t("status.devices")}>
          <${Devices} devices=${devices} liveDevices=${cachedAt ? {} : feed.devices} readings=${cachedAt ? {} : feed.readings} stale=${Boolean(cachedAt)} />
        <//>
        <${Card} name="activity" title=${t("status.activity")}>
          <${Activity} events=${feed.events} />
        <//>
      </div>
    </section>
  `;
}
