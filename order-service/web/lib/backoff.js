// Reconnect delays: exponential, capped, with full jitter so a room of screens that lost the
// same Wi-Fi does not come back in one burst.

export const BASE_MS = 500;
export const CAP_MS = 15_000;

/** Delay before attempt `attempt` (0 = the first retry); `random` in [0, 1). */
export function reconnectDelay(attempt, random = Math.random, base = BASE_MS, cap = CAP_MS) {
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 20));
  return Math.floor(base / 2 + random() * (ceiling - base / 2));
}
