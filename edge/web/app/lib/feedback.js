// Sound and vibration for the person who cannot look at the screen: one short high beep for
// success, three low ones for an exception. Browsers allow sound only after a first tap or key,
// which every screen's scan or button press gives.
let audio = null;

function context() {
  const Audio = window.AudioContext ?? window.webkitAudioContext;
  if (!Audio) return null;
  audio ??= new Audio();
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

function beep(ctx, start, frequency, seconds) {
  const oscillator = ctx.createOscillator();
  const gain = ctx.createGain();
  oscillator.type = "square";
  oscillator.frequency.value = frequency;
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(0.3, start + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + seconds);
  oscillator.connect(gain).connect(ctx.destination);
  oscillator.start(start);
  oscillator.stop(start + seconds + 0.02);
}

export const PATTERNS = {
  success: { tones: [[1760, 0.12]], vibrate: [80] },
  exception: { tones: [[330, 0.18], [330, 0.18], [330, 0.18]], vibrate: [250, 120, 250, 120, 250] },
};

/** Play `kind` ("success" or "exception"); returns what was attempted, for tests. */
export function signal(kind) {
  const pattern = PATTERNS[kind];
  const done = { kind, sound: false, vibrate: false };
  const ctx = context();
  if (ctx) {
    let at = ctx.currentTime;
    for (const [frequency, seconds] of pattern.tones) {
      beep(ctx, at, frequency, seconds);
      at += seconds + 0.08;
    }
    done.sound = true;
  }
  if (navigator.vibrate) done.vibrate = navigator.vibrate(pattern.vibrate);
  document.documentElement.dataset.lastSignal = kind;
  return done;
}
