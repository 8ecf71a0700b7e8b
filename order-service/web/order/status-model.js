// What the status page shows of an order, and when it asks again: pure functions, tested in
// web/test/customer-status.test.js; status.js does the drawing and the fetching.
//
// Why polling: the customer has no token and the kitchen WebSocket is staff-only (its tickets
// need a staff login), so the page asks `GET /api/order/{slug}/status/{order_id}/` every second
// while it is visible (an order changes a few times in its life; one small GET a second is
// nothing for the service), every 15 s while the tab is hidden, at once when the tab comes back
// or the network returns, and not at all once the order is completed or cancelled.

/** @typedef {'confirmed' | 'preparing' | 'ready' | 'completed' | 'cancelled'} OrderStatus */
/** @typedef {'done' | 'current' | 'upcoming'} StepState */
/** @typedef {{status: OrderStatus, label: string, state: StepState}} Step */

/** The order's way through the kitchen (API.md, "Kitchen side"). */
export const STEPS = /** @type {const} */ (['confirmed', 'preparing', 'ready', 'completed']);

/** @type {Record<OrderStatus, string>} */
export const STEP_LABELS = {
  confirmed: 'Confirmed',
  preparing: 'Being prepared',
  ready: 'Ready',
  completed: 'Completed',
  cancelled: 'Cancelled',
};

/** @type {Record<OrderStatus, string>} */
const MESSAGES = {
  confirmed: 'The kitchen has your order.',
  preparing: 'Your order is being prepared.',
  ready: 'Your order is ready!',
  completed: 'Your order is complete. Enjoy!',
  cancelled: 'This order was cancelled. Please ask the staff.',
};

/** How often to ask, in milliseconds. */
export const POLL = Object.freeze({ visible: 1000, hidden: 15000, maxBackoff: 8000 });

/**
 * The steps with the one the order is at: those before it done, those after it upcoming; a
 * completed order has every step done. A cancelled order shows "Confirmed" done and
 * "Cancelled" as where it stopped (the order does not tell at which step it was cancelled).
 * @param {string} status
 * @returns {Step[]}
 */
export function steps(status) {
  if (status === 'cancelled') {
    return [
      { status: 'confirmed', label: STEP_LABELS.confirmed, state: 'done' },
      { status: 'cancelled', label: STEP_LABELS.cancelled, state: 'current' },
    ];
  }
  const at = STEPS.indexOf(/** @type {any} */ (status));
  return STEPS.map((step, i) => ({
    status: step,
    label: STEP_LABELS[step],
    state: i < at || (status === 'completed' && i === at) ? 'done' : i === at ? 'current' : 'upcoming',
  }));
}

/**
 * The step the order is at, or `null` for a status this page does not know.
 * @param {string} status
 * @returns {OrderStatus | null}
 */
export function currentStep(status) {
  return status === 'cancelled' || STEPS.includes(/** @type {any} */ (status))
    ? /** @type {OrderStatus} */ (status)
    : null;
}

/** A sentence for the customer about `status`. */
export function statusMessage(/** @type {string} */ status) {
  return MESSAGES[/** @type {OrderStatus} */ (status)] ?? `Status: ${status}`;
}

/** Completed and cancelled orders do not change any more: stop asking. */
export function isFinal(/** @type {string} */ status) {
  return status === 'completed' || status === 'cancelled';
}

/**
 * Milliseconds until the next question: every second while the page is seen, every 15 s while
 * hidden; after failures, backing off (2, 4, 8 s) so a dead link is not hammered.
 * @param {{visible: boolean, failures: number}} state
 */
export function pollDelay({ visible, failures }) {
  const base = visible ? POLL.visible : POLL.hidden;
  if (failures <= 0) return base;
  return Math.max(base, Math.min(POLL.maxBackoff, POLL.visible * 2 ** Math.min(failures, 10)));
}

/**
 * Whether an answer should replace the order shown: answers can arrive out of order (a slow
 * one after a fast one), and an older `version` must not undo a newer one.
 * @param {{id: string, version: number} | null} shown
 * @param {{id: string, version: number}} incoming
 */
export function isNewer(shown, incoming) {
  return !shown || (shown.id === incoming.id && incoming.version > shown.version);
}
