// Clocks on the screen: each ticket's age and colour, and how fresh the screen's picture is.
// Time is always passed in, so the rules are unit-tested without waiting.

/** Ticket ageing defaults (seconds since confirm); each screen may keep its own. */
export const DEFAULT_AGING = Object.freeze({ amberAfter: 5 * 60, redAfter: 10 * 60 });

/** Freshness thresholds (API.md sends a heartbeat after 10 s of silence). */
export const STALE_AFTER_MS = 15_000;
export const LOST_AFTER_MS = 30_000;

/** Seconds since `since` (an RFC 3339 time), never negative (a clock slightly behind the server). */
export function secondsSince(since, now) {
  return Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
}

/** "4:05", "12:00", "1:02:03". */
export function formatAge(seconds) {
  const s = seconds % 60;
  const m = Math.floor(seconds / 60) % 60;
  const h = Math.floor(seconds / 3600);
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}

/**
 * A ticket's ageing level, with the words and icon that say it besides the colour.
 * @returns {{level: "fresh"|"amber"|"red", cue: string}}
 */
export function aging(seconds, { amberAfter, redAfter } = DEFAULT_AGING) {
  if (seconds >= redAfter) return { level: "red", cue: "⚠ late" };
  if (seconds >= amberAfter) return { level: "amber", cue: "◔ slow" };
  return { level: "fresh", cue: "" };
}

/**
 * Parses a screen's ageing settings (minutes, as a cook types them); bad input keeps the
 * defaults rather than a screen that never turns red.
 */
export function parseAging(amberMinutes, redMinutes) {
  const amber = Number(amberMinutes);
  const red = Number(redMinutes);
  const ok = (x) => Number.isFinite(x) && x > 0 && x <= 24 * 60;
  if (!ok(amber) || !ok(red) || red <= amber) return null;
  return { amberAfter: Math.round(amber * 60), redAfter: Math.round(red * 60) };
}

/**
 * What the freshness banner says.
 * @param {{connected: boolean, lastHeardAt: number|null, now: number, seq: number|null,
 *   waiting: number, catchingUp?: boolean, apiReachable?: boolean}} state lastHeardAt: when
 *   the last frame or heartbeat arrived (or the socket opened); apiReachable: whether
 *   order-service answers (actions cannot be sent while it does not)
 * @returns {{level: "live"|"amber"|"red", text: string}}
 */
export function freshness({ connected, lastHeardAt, now, seq, waiting, catchingUp = false, apiReachable = true }) {
  const age = lastHeardAt === null ? Infinity : now - lastHeardAt;
  let level = "live";
  if (age > LOST_AFTER_MS) level = "red";
  else if (age > STALE_AFTER_MS || !connected || catchingUp || !apiReachable) level = "amber";
  const parts = [];
  if (level === "live" || (connected && !catchingUp && age <= STALE_AFTER_MS)) parts.push("live");
  else if (!connected) parts.push("offline · reconnecting");
  else if (catchingUp) parts.push("catching up");
  else parts.push("no news");
  parts.push(`seq ${seq ?? "–"}`);
  parts.push(lastHeardAt === null ? "never heard" : `${formatHeard(age)} ago`);
  if (!apiReachable) parts.push("order service unreachable");
  if (waiting > 0) parts.push(`${waiting} action${waiting === 1 ? "" : "s"} waiting`);
  return { level, text: parts.join(" · ") };
}

function formatHeard(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h`;
}

/** Start of the local day of `now`, as an RFC 3339 UTC string (the stats' `from`). */
export function startOfDay(now) {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
}
