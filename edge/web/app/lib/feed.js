// The live feed: one WebSocket to the hub's /api/v1/stream that reconnects by itself (backoff
// with jitter) and resumes from the last custody event seq it saw, catching up what it missed
// with GET /api/v1/journal?after=<seq> before it hands on new events, so none is lost or shown
// twice. Readings and device statuses are live only (what matters is the latest).
import { api } from "./api.js";

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
const CONNECT_TIMEOUT_MS = 8_000; // a connection not greeted by then is given up (a dead Wi-Fi
// can leave a WebSocket connecting for minutes without a close event)
export const UNAUTHORIZED = 4401;

export class LiveFeed {
  /**
   * token: the bearer token; lastSeq: the last event seq already seen (null: start from now);
   * backfill: on a first connection (no lastSeq), how many recent events to show;
   * on: {event(e), reading(m), deviceStatus(s), state(s), seq(n), ended()}.
   */
  constructor({ token, lastSeq = null, backfill = 0, on = {} }) {
    this.token = token;
    this.lastSeq = lastSeq;
    this.backfill = backfill;
    this.on = on;
    this.socket = null;
    this.stopped = false;
    this.attempt = 0;
    this.timer = null;
    this.catchingUp = false;
    this.held = [];
    this.state = "idle";
  }

  start() {
    this.stopped = false;
    // the device's own word on its network: drop at once when it goes, retry at once when back
    this.wentOffline = () => this.drop();
    this.cameOnline = () => this.retryNow();
    window.addEventListener("offline", this.wentOffline);
    window.addEventListener("online", this.cameOnline);
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.connectTimer);
    window.removeEventListener("offline", this.wentOffline);
    window.removeEventListener("online", this.cameOnline);
    if (this.socket) this.socket.close(1000);
    this.socket = null;
    this.setState("idle");
  }

  /** Forget the current socket without waiting for its close event, and retry later. */
  drop() {
    const socket = this.socket;
    this.socket = null;
    clearTimeout(this.connectTimer);
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close();
    }
    if (!this.stopped) {
      clearTimeout(this.timer);
      this.retry();
    }
  }

  retryNow() {
    if (this.stopped || this.state === "live") return;
    clearTimeout(this.timer);
    this.attempt = 0;
    if (this.socket) this.drop();
    clearTimeout(this.timer);
    this.connect();
  }

  /** Drop the connection now and reconnect (after a network change, or when lagged). */
  reconnect() {
    if (this.socket) this.socket.close(1000);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.on.state?.(state);
  }

  connect() {
    if (this.stopped) return;
    this.setState("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${location.host}/api/v1/stream`);
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (this.socket === socket && this.state !== "live") this.drop();
    }, CONNECT_TIMEOUT_MS);
    socket.onopen = () => socket.send(JSON.stringify({ token: this.token }));
    socket.onmessage = (message) => this.received(message.data);
    socket.onclose = (closed) => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearTimeout(this.connectTimer);
      if (closed.code === UNAUTHORIZED) {
        this.stopped = true;
        this.setState("ended");
        this.on.ended?.();
        return;
      }
      this.retry();
    };
  }

  retry() {
    if (this.stopped) return;
    this.setState("offline");
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), ceiling / 2 + Math.random() * (ceiling / 2));
  }

  received(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    switch (message.type) {
      case "hello":
        clearTimeout(this.connectTimer);
        this.attempt = 0;
        this.setState("live");
        if (this.lastSeq === null) this.lastSeq = Math.max(0, message.journal_size - this.backfill);
        if (message.journal_size > this.lastSeq) this.catchUp();
        break;
      case "event":
        if (this.catchingUp) this.held.push(message.event);
        else this.deliver(message.event);
        break;
      case "reading":
        this.on.reading?.(message);
        break;
      case "device_status":
        this.on.deviceStatus?.(message.status);
        break;
      case "lagged":
        this.reconnect();
        break;
      default:
        break;
    }
  }

  deliver(event) {
    if (typeof event?.seq !== "number") return;
    if (this.lastSeq !== null && event.seq <= this.lastSeq) return; // seen already
    if (this.lastSeq !== null && event.seq > this.lastSeq + 1 && !this.catchingUp) {
      this.held.push(event); // a gap: fetch what is missing first
      this.catchUp();
      return;
    }
    this.on.event?.(event);
    this.advance(event.seq);
  }

  advance(seq) {
    this.lastSeq = seq;
    this.on.seq?.(seq);
  }

  async catchUp() {
    if (this.catchingUp) return;
    this.catchingUp = true;
    try {
      let after = this.lastSeq ?? 0;
      for (;;) {
        const { data } = await api(`/api/v1/journal?after=${after}&limit=200`, { token: this.token });
        for (const event of data.events) {
          if (event.seq > (this.lastSeq ?? 0)) {
            this.on.event?.(event);
            this.advance(event.seq);
          }
        }
        if (data.next_after == null) break;
        after = data.next_after;
      }
      this.catchingUp = false;
      const held = this.held.sort((a, b) => a.seq - b.seq);
      this.held = [];
      for (const event of held) this.deliver(event);
    } catch {
      this.catchingUp = false;
      this.reconnect(); // try again from the same seq on the next connection
    }
  }
}
