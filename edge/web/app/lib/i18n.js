// The message catalogue in use: `t(key, values)`. The language is the one chosen on this device
// (?lang=de once, kept), else the browser's first one the catalogue has, else English.
import { MESSAGES } from "./messages.js";

const KEPT = "edge.lang";

export function pickLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked && MESSAGES[asked]) {
    localStorage.setItem(KEPT, asked);
    return asked;
  }
  const kept = localStorage.getItem(KEPT);
  if (kept && MESSAGES[kept]) return kept;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (MESSAGES[base]) return base;
  }
  return "en";
}

let language = "en";

export function setLanguage(lang) {
  language = MESSAGES[lang] ? lang : "en";
  document.documentElement.lang = language;
  return language;
}

/** Whether the catalogue has `key` (for names that come from the hub, like event types). */
export function has(key) {
  return key in MESSAGES.en;
}

export function t(key, values = {}) {
  const text = MESSAGES[language][key] ?? MESSAGES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
}

export function formatTime(value) {
  const date = value instanceof Date ? value : new Date(value);
  return date.toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

export function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toLocaleString(language, { maximumFractionDigits: value < 10 ? 1 : 0 })} ${units[unit]}`;
}

export function formatAge(seconds) {
  const s = Math.round(Number(seconds));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
