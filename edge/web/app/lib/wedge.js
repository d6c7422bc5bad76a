// Telling a keyboard-wedge scanner from a person typing. A scanner "types" a whole code in a
// burst (a few ms between keys) and ends it with Enter; a person, even a fast one, leaves tens
// of ms between keys. Pure: key times in, a verdict out.
export const WEDGE = {
  maxGapMs: 40, // a scanner's keys come closer than this; typing rarely does, twice in a row
  minLength: 3, // fewer keys are too few to judge
};

/** "scan" if the keys at `times` (ms, in order) came as a scanner's burst, else "typed". */
export function classifyKeys(times, { maxGapMs = WEDGE.maxGapMs, minLength = WEDGE.minLength } = {}) {
  if (times.length < minLength) return "typed";
  const gaps = [];
  for (let i = 1; i < times.length; i += 1) gaps.push(times[i] - times[i - 1]);
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const slow = gaps.filter((gap) => gap > maxGapMs * 3).length;
  return median <= maxGapMs && slow === 0 ? "scan" : "typed";
}
