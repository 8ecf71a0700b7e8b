// The kitchen's picture of a restaurant's orders, built from the kitchen list, the WebSocket's
// frames and the event log. Plain state: no DOM, no network, no clock of its own, so the rules
// of API.md ("The restaurant's event sequence", "Kitchen WebSocket") are unit-tested in Node.
//
// Two separate questions, answered separately:
// - what an order looks like: the copy with the highest `version` wins, whatever the order in
//   which copies arrive (a frame, a replay, a snapshot, an event page);
// - whether anything was missed: `lastSeq` is the highest seq up to which every event has been
//   seen; a frame above `lastSeq + 1` leaves a hole that the caller fills from the event log.

/** @typedef {{id: number, menu_item_id: number, name: string, variant_label: string,
 *   quantity: number, special_requests?: string|null, modifiers: {id: number, name: string}[],
 *   station: {id: number, name: string}|null, done_at: string|null}} Line */
/** @typedef {{id: string, status: string, version: number, created_at: string,
 *   table_identifier: string|null, rush: boolean, recalled_at: string|null,
 *   status_changed_at: string, ready_at: string|null, completed_at: string|null,
 *   items: Line[]}} Order */
/** @typedef {{seq: number, event: string, event_id?: string, order: Order}} Change */

export const ACTIVE = new Set(["confirmed", "preparing", "ready"]);
export const FINAL = new Set(["completed", "cancelled"]);

/** How long a finished order is remembered: recall works for 30 minutes after a status move. */
export const RECENT_MS = 30 * 60 * 1000;

/**
 * A frame (the Order's fields at the top level plus `event`, `event_id`, `seq`) or an event of
 * the log (`{event, event_id, seq, order}`), as one shape. Unknown events give `null`.
 * @param {any} message
 * @returns {Change|{event: string, seq: number|null}|null}
 */
export function normalize(message) {
  if (!message || typeof message !== "object") return null;
  const { event, event_id, seq } = message;
  if (event === "heartbeat") return { event, seq: Number.isInteger(seq) ? seq : null };
  if (event === "resync") return { event, seq: null };
  if (!["order.confirmed", "order.status_changed", "order.updated"].includes(event)) return null;
  if (!Number.isInteger(seq)) return null;
  let order = message.order;
  if (!order) {
    order = { ...message };
    delete order.event;
    delete order.event_id;
    delete order.seq;
  }
  if (typeof order.id !== "string" || !Number.isInteger(order.version)) return null;
  return { seq, event, event_id, order };
}

export class Board {
  constructor() {
    /** @type {Map<string, Order>} every order seen, active or recently finished */
    this.orders = new Map();
    /** Highest seq up to which nothing is missing; `null` before the first kitchen list. */
    this.lastSeq = null;
    /** Seqs seen above `lastSeq + 1`, waiting for the hole below them to be filled. */
    this.ahead = new Set();
    /** The highest seq known to exist (frames, heartbeats, event pages). */
    this.newestSeq = 0;
    /** Changes that arrived before the first kitchen list, applied after it. */
    this.early = [];
  }

  /**
   * Keeps `order` if it is newer than the copy held. Returns what happened to the order:
   * "new" (first seen), "changed", or null (an older or equal copy, ignored).
   * @param {Order} order
   */
  offer(order) {
    const held = this.orders.get(order.id);
    if (held && held.version >= order.version) return null;
    this.orders.set(order.id, order);
    return held ? "changed" : "new";
  }

  /**
   * The kitchen list `{seq, orders}`: the state as of `seq`. An order held as active but absent
   * from the list left the board meanwhile (completed or cancelled elsewhere, unseen).
   * @returns {{changed: Order[], gone: Order[]}}
   */
  loadSnapshot({ seq, orders }) {
    const listed = new Set(orders.map((o) => o.id));
    const gone = [];
    for (const held of this.orders.values()) {
      if (ACTIVE.has(held.status) && !listed.has(held.id)) gone.push(held);
    }
    // Without the events in between, all that is known of them is that they are no longer
    // active; they stay out of the board (and out of the recall drawer, which needs the order).
    for (const order of gone) this.orders.delete(order.id);
    const changed = orders.filter((o) => this.offer(o));
    if (this.lastSeq === null || seq > this.lastSeq) {
      this.lastSeq = seq;
      for (const s of [...this.ahead]) if (s <= seq) this.ahead.delete(s);
      this.advance();
    }
    this.newestSeq = Math.max(this.newestSeq, seq);
    const early = this.early;
    this.early = [];
    for (const change of early) {
      const outcome = this.apply(change);
      if (outcome.order) changed.push(outcome.order);
    }
    return { changed, gone };
  }

  /**
   * One change, from a frame or an event page.
   * @param {Change} change
   * @returns {{order: Order|null, kind: "new"|"changed"|null, hole: boolean}}
   *   `order` is set when the board's copy changed; `hole` when events below it are missing.
   */
  apply(change) {
    if (this.lastSeq === null) {
      this.early.push(change);
      return { order: null, kind: null, hole: false };
    }
    this.newestSeq = Math.max(this.newestSeq, change.seq);
    if (change.seq === this.lastSeq + 1) {
      this.lastSeq = change.seq;
      this.advance();
    } else if (change.seq > this.lastSeq + 1) {
      this.ahead.add(change.seq);
    }
    const kind = this.offer(change.order);
    return { order: kind ? change.order : null, kind, hole: this.missing() };
  }

  /** A heartbeat's seq: the notifier has seen events up to there. */
  heard(seq) {
    if (Number.isInteger(seq)) this.newestSeq = Math.max(this.newestSeq, seq);
    return this.missing();
  }

  /** True when some event up to `newestSeq` has not been seen. */
  missing() {
    return this.lastSeq !== null && this.newestSeq > this.lastSeq;
  }

  advance() {
    while (this.ahead.delete(this.lastSeq + 1)) this.lastSeq += 1;
  }

  /** Active orders: rush first, then oldest confirm first. */
  active() {
    return [...this.orders.values()].filter((o) => ACTIVE.has(o.status)).sort(ticketOrder);
  }

  /** Orders completed within `RECENT_MS` of `now`, newest first: the recall drawer. */
  recentlyCompleted(now) {
    return [...this.orders.values()]
      .filter((o) => o.status === "completed" && now - Date.parse(o.status_changed_at) <= RECENT_MS)
      .sort((a, b) => Date.parse(b.status_changed_at) - Date.parse(a.status_changed_at));
  }

  /** Forgets finished orders too old to recall, so a screen that runs for days stays small. */
  prune(now) {
    for (const [id, order] of this.orders) {
      if (FINAL.has(order.status) && now - Date.parse(order.status_changed_at) > RECENT_MS) {
        this.orders.delete(id);
      }
    }
  }
}

/** Rush tickets first, then by confirm time, then by id so the order is stable. */
export function ticketOrder(a, b) {
  if (a.rush !== b.rush) return a.rush ? -1 : 1;
  const byAge = Date.parse(a.created_at) - Date.parse(b.created_at);
  if (byAge !== 0) return byAge;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The tickets a view shows. `all`: every active order. `expo`: every active order, ready ones
 * first (they wait at the pass). A station id: the orders with a line of that station still
 * to do (a ticket leaves a station's screen once its own lines are crossed off).
 * @param {Order[]} active sorted by `ticketOrder`
 * @param {"all"|"expo"|number} view
 */
export function ticketsFor(active, view) {
  if (view === "all") return active;
  if (view === "expo") {
    return [...active.filter((o) => o.status === "ready"), ...active.filter((o) => o.status !== "ready")];
  }
  return active.filter((o) => o.items.some((l) => l.station?.id === view && !l.done_at));
}

/** A station's lines of an order that are still to do. */
export function openLinesAt(order, station) {
  return order.items.filter((l) => l.station?.id === station && !l.done_at).map((l) => l.id);
}

/** The status a bump moves to, or null from a final status. */
export function nextStatus(status) {
  return { confirmed: "preparing", preparing: "ready", ready: "completed" }[status] ?? null;
}

/**
 * The short order number a cook calls out: the id's last 6 hex digits, upper-cased. Order ids
 * are UUIDv7, whose leading digits are a timestamp shared by a whole shift's orders; the tail
 * is random.
 */
export function shortNumber(id) {
  return String(id).replace(/-/g, "").slice(-6).toUpperCase();
}
