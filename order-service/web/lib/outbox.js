// Kitchen actions (bump, cross-off, recall, rush) on their way to order-service. Every action
// goes through here, online or not: it shows on its ticket at once as "pending", is kept in a
// store that survives a reload (IndexedDB in the page, a Map in tests), and is sent in order per
// order, one at a time, with `If-Match` and an `Idempotency-Key`. A retry of a request whose
// answer was lost carries the same key, so the server applies it once and answers as the first
// time. Plain logic: the caller does the HTTP and reports what came back.

/** @typedef {"status"|"rush"|"lines"|"recall"} Kind */
/** @typedef {{key: string, orderId: string, kind: Kind, body: any, baseVersion: number|null,
 *   n: number, createdAt: number, state: "pending"|"conflict"|"failed", detail?: string,
 *   attempts: number}} Action */
/** @typedef {{put(a: Action): Promise<void>, delete(key: string): Promise<void>,
 *   all(): Promise<Action[]>}} Store */

/** The HTTP request of an action (API.md, "Kitchen floor"). */
export function requestOf(action) {
  const base = `/api/kitchen/orders/${encodeURIComponent(action.orderId)}/`;
  switch (action.kind) {
    case "status":
    case "rush":
      return { method: "PATCH", path: base, body: action.body };
    case "lines":
      return { method: "PATCH", path: `${base}items/`, body: action.body };
    case "recall":
      return { method: "POST", path: `${base}recall/`, body: null };
    default:
      throw new Error(`unknown action ${action.kind}`);
  }
}

/**
 * What an answer means for the action that got it.
 * @param {number} status HTTP status, 0 when the request never got an answer
 * @returns {"done"|"retry"|"auth"|"conflict"|"failed"}
 */
export function classify(status) {
  if (status === 200 || status === 201) return "done";
  if (status === 401) return "auth";
  if (status === 409) return "conflict";
  // No answer, the service busy or down, a gateway that lost it: the same request, later.
  if (status === 0 || status === 408 || status === 429 || status >= 500) return "retry";
  return "failed";
}

/**
 * After a 409 (the order moved elsewhere since the cook saw it), whether the action still means
 * something on the order as it now is. Setting lines or rush is independent of what else moved,
 * so it is sent again on the new version (or is already true); a status move or a recall was
 * decided on a picture that is gone, so the cook decides.
 * @param {Action} action
 * @param {import("./board.js").Order} current
 * @returns {"satisfied"|"rebase"|"conflict"}
 */
export function afterConflict(action, current) {
  const final = current.status === "completed" || current.status === "cancelled";
  switch (action.kind) {
    case "lines": {
      const wanted = new Set(action.body.line_ids);
      const lines = current.items.filter((l) => wanted.has(l.id));
      if (lines.every((l) => Boolean(l.done_at) === action.body.done)) return "satisfied";
      return final ? "conflict" : "rebase";
    }
    case "rush":
      if (current.rush === action.body.rush) return "satisfied";
      return final ? "conflict" : "rebase";
    case "status":
      return current.status === action.body.status ? "satisfied" : "conflict";
    default:
      return "conflict";
  }
}

/**
 * The order as the cook should see it: its last known copy with the effect of the actions not
 * yet confirmed by the server.
 * @param {import("./board.js").Order} order
 * @param {Action[]} actions this order's, in order
 */
export function project(order, actions) {
  const pending = actions.filter((a) => a.state === "pending");
  if (pending.length === 0) return order;
  const shown = { ...order, items: order.items.map((l) => ({ ...l })) };
  const previous = { preparing: "confirmed", ready: "preparing", completed: "ready" };
  for (const action of pending) {
    if (action.kind === "status") shown.status = action.body.status;
    if (action.kind === "rush") shown.rush = action.body.rush;
    if (action.kind === "recall") shown.status = previous[shown.status] ?? shown.status;
    if (action.kind === "lines") {
      const ids = new Set(action.body.line_ids);
      for (const line of shown.items) {
        if (ids.has(line.id)) line.done_at = action.body.done ? line.done_at ?? "pending" : null;
      }
    }
  }
  return shown;
}

export class Outbox {
  /** @param {Store} store @param {() => string} newKey */
  constructor(store, newKey) {
    this.store = store;
    this.newKey = newKey;
    /** @type {Action[]} in the order they were made */
    this.actions = [];
    /** keys of the actions whose request is on the wire */
    this.inFlight = new Set();
  }

  async load() {
    this.actions = (await this.store.all()).sort((a, b) => a.n - b.n);
  }

  /**
   * Queues an action on `order` as the cook sees it (`version` of the copy on screen). Behind
   * another waiting action of the same order, it is sent on the version that one produces.
   * @returns {Promise<Action>}
   */
  async add(order, kind, body, now = Date.now()) {
    const waitingBefore = this.forOrder(order.id).length > 0;
    const n = this.actions.reduce((max, a) => Math.max(max, a.n), 0) + 1;
    /** @type {Action} */
    const action = {
      key: this.newKey(),
      orderId: order.id,
      kind,
      body,
      baseVersion: waitingBefore ? null : order.version,
      n,
      createdAt: now,
      state: "pending",
      attempts: 0,
    };
    this.actions.push(action);
    await this.store.put(action);
    return action;
  }

  /** @returns {Action[]} this order's actions, in order */
  forOrder(orderId) {
    return this.actions.filter((a) => a.orderId === orderId);
  }

  /** Actions not yet applied by the server. */
  waiting() {
    return this.actions.length;
  }

  /** Per order, its first action if it may go now: pending, not on the wire. */
  sendable() {
    const firsts = new Map();
    for (const action of this.actions) {
      if (!firsts.has(action.orderId)) firsts.set(action.orderId, action);
    }
    return [...firsts.values()].filter(
      (a) => a.state === "pending" && !this.inFlight.has(a.key) && a.baseVersion !== null,
    );
  }

  sending(action) {
    this.inFlight.add(action.key);
    action.attempts += 1;
  }

  /** The server applied it (or had already): the next action of that order builds on `order`. */
  async done(action, order) {
    this.inFlight.delete(action.key);
    await this.remove(action);
    const next = this.forOrder(action.orderId)[0];
    if (next && next.baseVersion === null) {
      next.baseVersion = order.version;
      await this.store.put(next);
    }
  }

  /** No answer: the same request (same key) goes again later. */
  async retry(action) {
    this.inFlight.delete(action.key);
    await this.store.put(action);
  }

  /**
   * Sent again on `version` under a new key: the old key's answer (the 409) is kept by the
   * server for that key, and this is a new decision made on the order as it now is.
   */
  async rebase(action, version) {
    this.inFlight.delete(action.key);
    const index = this.actions.indexOf(action);
    await this.store.delete(action.key);
    const rebased = { ...action, key: this.newKey(), baseVersion: version, attempts: 0 };
    this.actions[index] = rebased;
    await this.store.put(rebased);
    return rebased;
  }

  /**
   * The server refused it: it and every later action of that order (decided on a picture that
   * turned out wrong) wait for the cook, shown on the ticket, never dropped silently.
   * @param {"conflict"|"failed"} state
   */
  async refuse(action, state, detail) {
    this.inFlight.delete(action.key);
    for (const later of this.forOrder(action.orderId)) {
      later.state = state;
      later.detail = later === action ? detail : "Waiting behind a refused action.";
      await this.store.put(later);
    }
  }

  /** The cook sends an order's refused actions again, on the version now on screen. */
  async retryOrder(order) {
    const actions = this.forOrder(order.id);
    for (const [index, action] of actions.entries()) {
      if (index === 0) {
        await this.rebase(action, order.version);
      } else {
        action.baseVersion = null;
      }
      const current = this.actions.find((a) => a.n === action.n);
      current.state = "pending";
      delete current.detail;
      await this.store.put(current);
    }
  }

  /** The cook gives up an order's refused actions. */
  async dismissOrder(orderId) {
    for (const action of this.forOrder(orderId)) await this.remove(action);
  }

  /**
   * Takes back an action not yet sent (an undo made before the server heard of it). Returns
   * false when it is already on its way: then the undo is an action of its own.
   */
  async withdraw(action) {
    if (this.inFlight.has(action.key) || !this.actions.includes(action)) return false;
    if (action.attempts > 0) return false;
    const [first] = this.forOrder(action.orderId);
    await this.remove(action);
    // The new first of the order needs the version its predecessor was based on.
    const next = this.forOrder(action.orderId)[0];
    if (first === action && next && next.baseVersion === null) {
      next.baseVersion = action.baseVersion;
      await this.store.put(next);
    }
    return true;
  }

  async remove(action) {
    this.actions = this.actions.filter((a) => a.key !== action.key);
    await this.store.delete(action.key);
  }
}

/** An in-memory store, for tests and for a browser without IndexedDB. */
export class MemoryStore {
  constructor() {
    this.rows = new Map();
  }
  async put(action) {
    this.rows.set(action.key, structuredClone(action));
  }
  async delete(key) {
    this.rows.delete(key);
  }
  async all() {
    return [...this.rows.values()].map((a) => structuredClone(a));
  }
}
