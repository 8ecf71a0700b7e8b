// The kitchen display: login, screen choice, the live board and the cook's actions. The rules
// live in ../lib (unit-tested under Node); this file is the DOM and the network around them.
//
// Stable hooks for the browser tests: data-test="ticket" (data-order-id, data-status,
// data-version, data-pending), "line" (data-line-id, data-done), "bump", "rush", "cancelled",
// "ack", "freshness" (data-level, data-seq, data-waiting), "undo", "recent", "recall".

import { Board, normalize, ticketsFor, ticketOrder, nextStatus, shortNumber, openLinesAt, ACTIVE } from "../lib/board.js";
import { Outbox, MemoryStore, classify, afterConflict, project, requestOf } from "../lib/outbox.js";
import { aging, DEFAULT_AGING, formatAge, freshness, parseAging, secondsSince, startOfDay } from "../lib/timers.js";
import { allDay } from "../lib/allday.js";
import { reconnectDelay } from "../lib/backoff.js";
import { Session } from "../lib/session.js";
import { openIdbStore } from "./idb-store.js";
import { Sounds } from "./sound.js";

const SCREEN = "kds.screen";
const AGING = "kds.aging";
const CANCELLED = "kds.cancelled";
/** A cancel card nobody acknowledged is dropped after this long (a screen left on overnight). */
const CANCEL_CARD_MS = 12 * 3600e3;
const UNDO_MS = 8000;
const STATS_EVERY_MS = 60_000;
/** A socket silent this long is dead even if the browser has not noticed. */
const DEAD_SOCKET_MS = 35_000;
const EVENTS_PAGE = 500;

const $ = (id) => document.getElementById(id);
const session = new Session((...args) => fetch(...args), localStorage);
const sounds = new Sounds();

/** Everything the screen knows, in one place. */
const state = {
  /** @type {{slug: string, name: string, view: "all"|"expo"|number, viewName: string}|null} */
  screen: readJson(SCREEN),
  aging: readJson(AGING) ?? { ...DEFAULT_AGING },
  board: new Board(),
  /** @type {Outbox|null} */
  outbox: null,
  socket: null,
  connected: false,
  lastHeardAt: null,
  reconnectAttempt: 0,
  reconnectTimer: 0,
  catchingUp: null,
  snapshotLoaded: false,
  selected: 0,
  /** @type {{label: string, undo: () => Promise<void>, until: number}|null} */
  undo: null,
  /** Cancelled orders waiting for someone to acknowledge them; kept across reloads. */
  cancelCards: new Map(Object.entries(readJson(CANCELLED) ?? {})),
  stations: [],
  stats: null,
  pumping: false,
  pumpTimer: 0,
  pumpAttempt: 0,
  running: false,
};

function readJson(key) {
  try {
    return JSON.parse(localStorage.getItem(key) ?? "null");
  } catch {
    return null;
  }
}
function writeJson(key, value) {
  localStorage.setItem(key, JSON.stringify(value));
}

function notifierUrl() {
  const configured = document.querySelector('meta[name="notifier-url"]')?.content ?? "";
  if (/^wss?:\/\//.test(configured)) return configured.replace(/\/+$/, "");
  return `ws://${location.hostname}:8081`;
}

/** Builds an element; children are nodes or text (never HTML: orders carry customer text). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function show(section) {
  for (const id of ["login", "setup", "screen"]) $(id).hidden = id !== section;
}

// ---------------------------------------------------------------- login and setup

async function begin() {
  if (!session.loggedIn) return showLogin();
  if (!state.screen) return showSetup();
  return startScreen();
}

function showLogin(message = "") {
  stopScreen();
  show("login");
  $("login-error").textContent = message;
  $("login-email").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = event.submitter;
  if (button) button.disabled = true;
  $("login-error").textContent = "";
  const answer = await session.login($("login-email").value.trim(), $("login-password").value);
  if (button) button.disabled = false;
  if (answer.status === 200) {
    $("login-password").value = "";
    return begin();
  }
  $("login-error").textContent =
    answer.status === 0
      ? "The order service cannot be reached. Check the network and try again."
      : answer.body?.detail ?? `Login failed (${answer.status}).`;
});

async function showSetup() {
  stopScreen();
  show("setup");
  $("who").textContent = session.tokens?.email ? `Logged in as ${session.tokens.email}.` : "";
  $("aging-amber").value = String(state.aging.amberAfter / 60);
  $("aging-red").value = String(state.aging.redAfter / 60);
  $("setup-error").textContent = "";
  const answer = await session.call("GET", "/api/restaurants/");
  if (answer.status === 401) return showLogin("Your session ended; log in again.");
  if (answer.status !== 200) {
    $("setup-error").textContent = "The restaurants could not be loaded; retrying…";
    setTimeout(() => !$("setup").hidden && showSetup(), 3000);
    return;
  }
  const list = $("restaurants");
  list.replaceChildren(
    ...answer.body.map((r) =>
      h("button", {
        type: "button", "data-test": "restaurant", "data-slug": r.slug,
        "aria-pressed": state.screen?.slug === r.slug ? "true" : "false",
        onclick: () => chooseRestaurant(r),
      }, r.name, h("small", {}, ` (${r.role})`)),
    ),
  );
  if (answer.body.length === 0) list.textContent = "You are not staff of any restaurant yet.";
  const current = answer.body.find((r) => r.slug === state.screen?.slug) ?? (answer.body.length === 1 ? answer.body[0] : null);
  if (current) await chooseRestaurant(current, false);
}

async function chooseRestaurant(restaurant, clicked = true) {
  for (const b of $("restaurants").querySelectorAll("button")) {
    b.setAttribute("aria-pressed", b.dataset.slug === restaurant.slug ? "true" : "false");
  }
  const answer = await session.call("GET", `/api/restaurants/${encodeURIComponent(restaurant.slug)}/stations/`);
  const stations = answer.status === 200 ? answer.body : [];
  const pick = (view, viewName) => () => {
    state.screen = { slug: restaurant.slug, name: restaurant.name, view, viewName };
    writeJson(SCREEN, state.screen);
    startScreen();
  };
  $("views").replaceChildren(
    h("button", { type: "button", class: "primary", "data-test": "view", "data-view": "all", onclick: pick("all", "All stations") }, "All stations"),
    h("button", { type: "button", "data-test": "view", "data-view": "expo", onclick: pick("expo", "Expo") }, "Expo"),
    ...stations.map((s) =>
      h("button", { type: "button", "data-test": "view", "data-view": String(s.id), onclick: pick(s.id, s.name) }, s.name),
    ),
  );
  if (clicked) $("views").querySelector("button")?.focus();
}

$("aging-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const parsed = parseAging($("aging-amber").value, $("aging-red").value);
  if (!parsed) {
    $("aging-note").textContent = "Red must come after amber (minutes, 1–1440).";
    return;
  }
  state.aging = parsed;
  writeJson(AGING, parsed);
  $("aging-note").textContent = "Saved for this screen.";
});

$("logout").addEventListener("click", async () => {
  const waiting = state.outbox?.waiting() ?? 0;
  if (waiting > 0 && !confirm(`${waiting} action(s) are not sent yet; they stay on this screen. Log out?`)) return;
  localStorage.removeItem(SCREEN);
  state.screen = null;
  await session.logout();
  showLogin();
});

$("open-setup").addEventListener("click", () => showSetup());

// ---------------------------------------------------------------- the live board

async function startScreen() {
  stopScreen();
  show("screen");
  state.running = true;
  state.board = new Board();
  state.snapshotLoaded = false;
  state.lastHeardAt = null;
  state.selected = 0;
  $("screen-restaurant").textContent = state.screen.name;
  $("screen-view").textContent = state.screen.viewName;
  $("shift").hidden = sounds.context !== null;
  if (!state.outbox) {
    let store;
    try {
      store = await openIdbStore();
    } catch {
      // Private mode without IndexedDB: actions still queue, but not across a reload.
      store = new MemoryStore();
    }
    state.outbox = new Outbox(store, () => crypto.randomUUID());
    await state.outbox.load();
  }
  render();
  connect();
  pump();
  loadStations();
  loadStats();
}

function stopScreen() {
  state.running = false;
  clearTimeout(state.reconnectTimer);
  if (state.socket) {
    state.socket.onclose = null;
    state.socket.close();
    state.socket = null;
  }
  state.connected = false;
}

const slugPath = () => encodeURIComponent(state.screen.slug);

async function connect() {
  clearTimeout(state.reconnectTimer);
  if (!state.running) return;
  const ticket = await session.call("POST", `/api/kitchen/${slugPath()}/ws-ticket/`);
  if (!state.running) return;
  if (ticket.status === 401) return showLogin("Your session ended; log in again.");
  if (ticket.status === 403 || ticket.status === 404) {
    localStorage.removeItem(SCREEN);
    state.screen = null;
    return showSetup();
  }
  if (ticket.status !== 200) return reconnectLater();
  const after = state.board.lastSeq !== null ? `&after=${state.board.lastSeq}` : "";
  const url = `${notifierUrl()}/ws/kitchen/${slugPath()}/?ticket=${encodeURIComponent(ticket.body.ticket)}${after}`;
  let socket;
  try {
    socket = new WebSocket(url);
  } catch {
    return reconnectLater();
  }
  state.socket = socket;
  socket.onopen = () => {
    state.connected = true;
    state.reconnectAttempt = 0;
    state.lastHeardAt = Date.now();
    // Socket first, then the list: frames from now on are either in the list or after it.
    if (!state.snapshotLoaded) loadSnapshot();
    else catchUp();
    pump();
    renderFreshness();
  };
  socket.onmessage = (message) => {
    state.lastHeardAt = Date.now();
    let parsed;
    try {
      parsed = JSON.parse(message.data);
    } catch {
      return;
    }
    receive(normalize(parsed));
  };
  socket.onclose = () => {
    if (state.socket !== socket) return;
    state.socket = null;
    state.connected = false;
    renderFreshness();
    reconnectLater();
  };
}

function reconnectLater() {
  if (!state.running) return;
  clearTimeout(state.reconnectTimer);
  const delay = reconnectDelay(state.reconnectAttempt++);
  state.reconnectTimer = setTimeout(connect, delay);
}

function reconnectNow() {
  if (!state.running || state.connected) return;
  state.reconnectAttempt = 0;
  connect();
}

window.addEventListener("online", () => {
  reconnectNow();
  pump(true);
});

function receive(change) {
  if (!change) return;
  if (change.event === "resync") {
    // Events may have been missed: read them from the log, then the list as the contract says.
    catchUp().then(() => loadSnapshot());
    return;
  }
  if (change.event === "heartbeat") {
    if (state.board.heard(change.seq)) catchUp();
    renderFreshness();
    return;
  }
  const previous = state.board.orders.get(change.order.id);
  const outcome = state.board.apply(change);
  if (outcome.order) announce(previous, outcome.order, change.event);
  if (outcome.hole) catchUp();
  scheduleRender();
}

/** Sounds for what a cook must notice: a new ticket, a cancel, a rush. */
function announce(previous, order, event) {
  if (order.status === "cancelled" && previous?.status !== "cancelled" && visibleHere(previous ?? order)) {
    state.cancelCards.set(order.id, order);
    saveCancelCards();
  }
  if (!state.snapshotLoaded) return;
  if (order.status === "cancelled" && previous?.status !== "cancelled") sounds.play("cancel");
  else if (order.rush && !previous?.rush) sounds.play("rush");
  else if (event === "order.confirmed" && !previous && visibleHere(order)) sounds.play("ticket");
}

function visibleHere(order) {
  if (typeof state.screen.view !== "number") return true;
  return order.items.some((l) => l.station?.id === state.screen.view);
}

function saveCancelCards() {
  const now = Date.now();
  for (const [id, order] of state.cancelCards) {
    if (now - Date.parse(order.status_changed_at) > CANCEL_CARD_MS) state.cancelCards.delete(id);
  }
  writeJson(CANCELLED, Object.fromEntries(state.cancelCards));
}

async function loadSnapshot() {
  const answer = await session.call("GET", `/api/kitchen/${slugPath()}/orders/`);
  if (!state.running) return;
  if (answer.status === 401) return showLogin("Your session ended; log in again.");
  if (answer.status !== 200) {
    setTimeout(() => state.running && !state.snapshotLoaded && loadSnapshot(), 2000);
    return;
  }
  state.board.loadSnapshot(answer.body);
  state.snapshotLoaded = true;
  if (state.board.missing()) catchUp();
  scheduleRender();
}

/** Reads the event log after the last seq applied until nothing is missing. One at a time. */
function catchUp() {
  if (!state.snapshotLoaded) return Promise.resolve();
  state.catchingUp ??= (async () => {
    try {
      for (let pages = 0; pages < 1000 && state.running; pages++) {
        const after = state.board.lastSeq;
        const answer = await session.call("GET", `/api/kitchen/${slugPath()}/events/?after=${after}&limit=${EVENTS_PAGE}`);
        if (answer.status === 410) {
          // Older than the log keeps: start again from the list.
          state.snapshotLoaded = false;
          await loadSnapshot();
          return;
        }
        if (answer.status !== 200) {
          setTimeout(() => catchUp(), 3000);
          return;
        }
        for (const event of answer.body.events) {
          const change = normalize(event);
          if (!change || change.event === "heartbeat" || change.event === "resync") continue;
          const previous = state.board.orders.get(change.order.id);
          const outcome = state.board.apply(change);
          if (outcome.order) announce(previous, outcome.order, change.event);
        }
        state.board.heard(answer.body.last_seq);
        scheduleRender();
        if (answer.body.events.length === 0 || state.board.lastSeq >= answer.body.last_seq) return;
      }
    } finally {
      state.catchingUp = null;
      renderFreshness();
    }
  })();
  return state.catchingUp;
}

async function loadStations() {
  const answer = await session.call("GET", `/api/restaurants/${slugPath()}/stations/`);
  if (answer.status === 200) state.stations = answer.body;
}

async function loadStats() {
  if (!state.running) return;
  const from = encodeURIComponent(startOfDay(Date.now()));
  const answer = await session.call("GET", `/api/kitchen/${slugPath()}/stats/?from=${from}`);
  if (answer.status === 200) {
    state.stats = answer.body;
    renderStats();
  }
}
setInterval(loadStats, STATS_EVERY_MS);

// ---------------------------------------------------------------- actions

/** Queues an action, shows it at once, sends it when it can. */
async function act(order, kind, body) {
  const action = await state.outbox.add(order, kind, body);
  scheduleRender();
  pump();
  return action;
}

/** Sends what can go now; on no answer, tries again with backoff (same keys). */
async function pump(now = false) {
  if (!state.outbox || state.pumping) return;
  if (now) state.pumpAttempt = 0;
  state.pumping = true;
  clearTimeout(state.pumpTimer);
  let unanswered = false;
  try {
    for (;;) {
      const batch = state.outbox.sendable();
      if (batch.length === 0) break;
      const results = await Promise.all(batch.map(send));
      if (results.includes("no answer")) {
        unanswered = true;
        break;
      }
      if (results.includes("login")) return showLogin("Your session ended; log in again. Waiting actions are kept.");
    }
  } finally {
    state.pumping = false;
    scheduleRender();
  }
  if (unanswered) {
    state.pumpTimer = setTimeout(pump, reconnectDelay(state.pumpAttempt++, Math.random, 1000, 10_000));
  } else {
    state.pumpAttempt = 0;
  }
}

async function send(action) {
  const request = requestOf(action);
  state.outbox.sending(action);
  const answer = await session.call(request.method, request.path, request.body, {
    headers: { "If-Match": String(action.baseVersion), "Idempotency-Key": action.key },
  });
  switch (classify(answer.status)) {
    case "done":
      state.board.offer(answer.body);
      await state.outbox.done(action, answer.body);
      return "done";
    case "retry":
      await state.outbox.retry(action);
      return "no answer";
    case "auth":
      await state.outbox.retry(action);
      return session.loggedIn ? "no answer" : "login";
    case "conflict": {
      const current = await currentOrder(action.orderId);
      if (!current) {
        await state.outbox.retry(action);
        return "no answer";
      }
      state.board.offer(current);
      const next = afterConflict(action, current);
      if (next === "satisfied") await state.outbox.done(action, current);
      else if (next === "rebase") await state.outbox.rebase(action, current.version);
      else await state.outbox.refuse(action, "conflict", conflictText(action, current));
      return "done";
    }
    default:
      await state.outbox.refuse(action, "failed", answer.body?.detail ?? `Refused (${answer.status}).`);
      return "done";
  }
}

/** The order as it is now (public read: works whatever the board missed). */
async function currentOrder(orderId) {
  const answer = await session.call("GET", `/api/order/${slugPath()}/status/${encodeURIComponent(orderId)}/`, null, { auth: false });
  return answer.status === 200 ? answer.body : null;
}

function conflictText(action, current) {
  const what = { status: `move to ${action.body?.status}`, recall: "recall", lines: "cross-off", rush: "rush" }[action.kind];
  return `Changed on another screen (now ${current.status}); your ${what} was not applied.`;
}

async function bump(order) {
  const view = state.screen.view;
  let action;
  let undo;
  if (typeof view === "number") {
    const lines = openLinesAt(order, view);
    if (lines.length === 0) return;
    action = await act(order, "lines", { line_ids: lines, done: true });
    undo = () => act(latest(order.id), "lines", { line_ids: lines, done: false });
  } else {
    const to = nextStatus(order.status);
    if (!to) return;
    action = await act(order, "status", { status: to });
    undo = () => act(latest(order.id), "recall", null);
  }
  offerUndo(`#${shortNumber(order.id)}`, action, undo);
}

/** The order as on screen now, pending actions included (what a follow-up action builds on). */
function latest(orderId) {
  const order = state.board.orders.get(orderId);
  return project(order, state.outbox.forOrder(orderId));
}

function offerUndo(label, action, compensate) {
  state.undo = {
    label,
    until: Date.now() + UNDO_MS,
    undo: async () => {
      // Not sent yet: take it back. Already sent (or maybe applied): undo it with an action.
      if (!(await state.outbox.withdraw(action))) await compensate();
      scheduleRender();
    },
  };
  renderUndo();
}

$("undo").addEventListener("click", () => runUndo());
async function runUndo() {
  const undo = state.undo;
  if (!undo || Date.now() > undo.until) return;
  state.undo = null;
  renderUndo();
  await undo.undo();
}

function toggleLine(order, line) {
  if (!ACTIVE.has(order.status)) return;
  act(order, "lines", { line_ids: [line.id], done: !line.done_at });
}

function acknowledge(orderId) {
  state.cancelCards.delete(orderId);
  saveCancelCards();
  scheduleRender();
}

// ---------------------------------------------------------------- rendering

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

/** Ticket elements by order id, with the signature they were built from. */
const built = new Map();

function shownOrders() {
  const outbox = state.outbox;
  const all = [...state.board.orders.values()].map((o) => (outbox ? project(o, outbox.forOrder(o.id)) : o));
  const active = all.filter((o) => ACTIVE.has(o.status)).sort(ticketOrder);
  return ticketsFor(active, state.screen.view);
}

function render() {
  if (!state.running) return;
  performance.mark("kds-render-start");
  const now = Date.now();
  const active = shownOrders();
  const cancelled = [...state.cancelCards.values()].filter((o) => o.restaurant === state.screen.slug).sort((a, b) => Date.parse(a.status_changed_at) - Date.parse(b.status_changed_at));
  const cards = [...cancelled.map((o) => ["cancelled", o]), ...active.map((o) => ["ticket", o])];
  state.selected = Math.min(state.selected, Math.max(0, active.length - 1));
  const container = $("tickets");
  const wanted = [];
  const fresh = [];
  cards.forEach(([kind, order], index) => {
    const position = kind === "ticket" ? index - cancelled.length + 1 : null;
    const actions = state.outbox?.forOrder(order.id) ?? [];
    // Only what the card's content shows: position, selection and ageing are set in place
    // below, so a ticket jumping the queue does not rebuild every card after it.
    const signature = JSON.stringify([kind, order.version, order.status, order.rush,
      order.items.map((l) => l.done_at), actions.map((a) => [a.key, a.state]), state.screen.view]);
    const key = `${kind}:${order.id}`;
    let entry = built.get(key);
    if (!entry || entry.signature !== signature) {
      const element = kind === "cancelled" ? cancelledCard(order) : ticketCard(order, actions);
      if (entry) entry.element.replaceWith(element);
      entry = { signature, element, order, position: null, selected: null };
      built.set(key, entry);
      fresh.push(element);
    }
    entry.order = order;
    if (kind === "ticket") placeTicket(entry, position, position === state.selected + 1);
    wanted.push(entry.element);
  });
  const keep = new Set(wanted);
  for (const [key, entry] of built) {
    if (!keep.has(entry.element)) {
      entry.element.remove();
      built.delete(key);
    }
  }
  // Move only what is out of place, so an unchanged board touches no DOM.
  wanted.forEach((element, index) => {
    if (container.children[index] !== element) container.insertBefore(element, container.children[index] ?? null);
  });
  let empty = container.querySelector(".empty");
  if (cards.length === 0 && !empty) container.append(h("p", { class: "empty" }, state.snapshotLoaded ? "No open tickets." : "Loading tickets…"));
  else if (cards.length > 0 && empty) empty.remove();
  renderAllDay(active);
  renderTimers(now, fresh);
  renderFreshness();
  renderUndo();
  if ($("recent").open) renderRecent();
  performance.measure("kds-render", "kds-render-start");
}

/** The position label and selection of a ticket card, touched only when they change. */
function placeTicket(entry, position, selected) {
  if (entry.position !== position) {
    entry.position = position;
    entry.element.dataset.position = String(position);
    const label = entry.element.querySelector(".pos");
    label.textContent = position <= 9 ? String(position) : "·";
    label.setAttribute("aria-label", `position ${position}`);
  }
  if (entry.selected !== selected) {
    entry.selected = selected;
    entry.element.classList.toggle("selected", selected);
  }
}

function ticketCard(order, actions) {
  const view = state.screen.view;
  const station = typeof view === "number" ? view : null;
  const pending = actions.filter((a) => a.state === "pending").length;
  const refused = actions.find((a) => a.state !== "pending");
  const to = nextStatus(order.status);
  const bumpLabel = station !== null
    ? "Done ▸"
    : { preparing: "Start ▸", ready: "Ready ▸", completed: "Complete ▸" }[to] ?? "–";
  const article = h("article", {
    class: `ticket${order.rush ? " rush" : ""}`,
    "data-test": "ticket", "data-order-id": order.id, "data-status": order.status,
    "data-version": order.version, "data-pending": pending,
  },
    h("header", {},
      h("span", { class: "pos" }),
      h("span", { class: "number" }, `#${shortNumber(order.id)}`),
      h("span", { class: "table" }, order.table_identifier ? `Table ${order.table_identifier}` : "No table"),
      h("span", { class: "timer", "data-created": order.created_at }, "", h("span", { class: "cue" })),
    ),
    h("div", { class: "badges" },
      order.rush ? h("span", { class: "badge rush" }, "⚡ RUSH") : null,
      h("span", { class: `badge status status-${order.status}` }, order.status),
      order.recalled_at ? h("span", { class: "badge recalled" }, "↺ recalled") : null,
      pending ? h("span", { class: "badge pending", "data-test": "pending" }, `◷ pending ×${pending}`) : null,
    ),
    h("ul", { class: "lines" }, order.items.map((line) => lineItem(order, line, station))),
    refused
      ? h("div", { class: "problem", "data-test": "problem", "data-state": refused.state },
          refused.detail ?? "Refused.",
          h("br"),
          h("button", { type: "button", "data-test": "retry", onclick: () => retryRefused(order.id) }, "Try again"),
          h("button", { type: "button", "data-test": "dismiss", onclick: () => dismissRefused(order.id) }, "Dismiss"),
        )
      : null,
    h("footer", {},
      h("button", {
        type: "button", class: "rush-toggle", "data-test": "rush", "aria-pressed": order.rush ? "true" : "false",
        onclick: () => act(order, "rush", { rush: !order.rush }),
      }, "⚡"),
      h("button", { type: "button", class: "bump", "data-test": "bump", disabled: !to, onclick: () => bump(order) }, bumpLabel),
    ),
  );
  return article;
}

function lineItem(order, line, station) {
  const elsewhere = station !== null && line.station?.id !== station;
  const done = Boolean(line.done_at);
  const modifiers = (line.modifiers ?? []).map((m) => m.name).join(", ");
  return h("li", {
    class: `${done ? "done" : ""}${line.done_at === "pending" ? " pending" : ""}${elsewhere ? " elsewhere" : ""}`,
    "data-test": "line", "data-line-id": line.id, "data-done": done ? "true" : "false",
  },
    h("button", {
      type: "button", disabled: elsewhere, "aria-pressed": done ? "true" : "false",
      onclick: () => toggleLine(order, line),
    },
      line.station ? h("span", { class: "station" }, line.station.name) : null,
      h("span", { class: "qty" }, `${line.quantity}×`),
      line.name,
      line.variant_label ? h("span", { class: "variant" }, ` (${line.variant_label})`) : null,
      modifiers ? h("span", { class: "mods" }, `+ ${modifiers}`) : null,
      line.special_requests ? h("span", { class: "request" }, line.special_requests) : null,
    ),
  );
}

function cancelledCard(order) {
  return h("article", { class: "ticket cancelled", "data-test": "cancelled", "data-order-id": order.id },
    h("header", {},
      h("span", { class: "number" }, `✖ CANCELLED #${shortNumber(order.id)}`),
      h("span", { class: "table" }, order.table_identifier ? `Table ${order.table_identifier}` : ""),
    ),
    h("ul", { class: "lines" }, order.items.map((l) => h("li", {}, h("button", { type: "button", disabled: true }, `${l.quantity}× ${l.name}`)))),
    h("footer", {}, h("button", { type: "button", class: "ack", "data-test": "ack", onclick: () => acknowledge(order.id) }, "Acknowledge ✓ (A)")),
  );
}

async function retryRefused(orderId) {
  const order = state.board.orders.get(orderId);
  if (!order) return;
  await state.outbox.retryOrder(order);
  scheduleRender();
  pump(true);
}

async function dismissRefused(orderId) {
  await state.outbox.dismissOrder(orderId);
  scheduleRender();
}

/** Ticket clocks and ageing colours: every second for all, at once for cards just built. */
function renderTimers(now, cards = null) {
  const timers = cards
    ? cards.flatMap((card) => [...card.querySelectorAll(".timer[data-created]")])
    : $("tickets").querySelectorAll(".timer[data-created]");
  for (const timer of timers) {
    const seconds = secondsSince(timer.dataset.created, now);
    const { level, cue } = aging(seconds, state.aging);
    const clock = formatAge(seconds);
    if (timer.firstChild.textContent !== clock) timer.firstChild.textContent = clock;
    if (timer.lastChild.textContent !== cue) timer.lastChild.textContent = cue;
    if (timer.dataset.level !== level) {
      timer.dataset.level = level;
      const ticket = timer.closest(".ticket");
      for (const l of ["fresh", "amber", "red"]) ticket.classList.toggle(`aging-${l}`, l === level);
    }
  }
}

function renderAllDay(active) {
  const station = typeof state.screen.view === "number" ? state.screen.view : null;
  const entries = allDay(active, station);
  const signature = JSON.stringify(entries);
  const list = $("allday");
  if (list.dataset.signature === signature) return;
  list.dataset.signature = signature;
  list.replaceChildren(
    ...entries.map((e) =>
      h("li", { "data-test": "allday-entry", "data-menu-item-id": e.menu_item_id },
        h("span", {}, e.name, e.variant_label ? ` (${e.variant_label})` : ""),
        h("span", { class: "count" }, String(e.quantity)),
      ),
    ),
  );
  if (entries.length === 0) list.append(h("li", {}, "Nothing to make."));
}

function renderStats() {
  const stats = state.stats;
  if (!stats) return;
  const seconds = (s) => (s === null ? "–" : formatAge(Math.round(s)));
  $("stats").replaceChildren(
    h("li", {}, h("span", {}, "Ticket p50"), h("span", { class: "count" }, seconds(stats.ticket_seconds.p50))),
    h("li", {}, h("span", {}, "Orders"), h("span", { class: "count" }, `${stats.orders.completed}/${stats.orders.confirmed}`)),
    ...stats.stations.map((s) =>
      h("li", { "data-test": "station-stat" }, h("span", {}, `${s.name} p50`), h("span", { class: "count" }, seconds(s.p50))),
    ),
  );
}

function renderFreshness() {
  if (!state.running) return;
  const banner = $("freshness");
  const waiting = state.outbox?.waiting() ?? 0;
  const { level, text } = freshness({
    connected: state.connected,
    lastHeardAt: state.lastHeardAt,
    now: Date.now(),
    seq: state.board.lastSeq,
    waiting,
    catchingUp: state.catchingUp !== null || !state.snapshotLoaded,
    apiReachable: session.reachable,
  });
  if (banner.textContent !== text) banner.textContent = text;
  banner.dataset.level = level;
  banner.dataset.seq = String(state.board.lastSeq ?? "");
  banner.dataset.waiting = String(waiting);
}

function renderUndo() {
  const button = $("undo");
  const left = state.undo ? Math.ceil((state.undo.until - Date.now()) / 1000) : 0;
  if (left <= 0) {
    state.undo = null;
    button.hidden = true;
    return;
  }
  button.hidden = false;
  $("undo-left").textContent = `${state.undo.label} · ${left} s`;
}

function renderRecent() {
  const orders = state.board.recentlyCompleted(Date.now());
  $("recent-list").replaceChildren(
    ...orders.map((order, index) =>
      h("li", { "data-test": "recent-order", "data-order-id": order.id },
        h("span", {}, `${index + 1}. #${shortNumber(order.id)} · ${order.table_identifier ? `Table ${order.table_identifier}` : "No table"} · ${formatAge(secondsSince(order.status_changed_at, Date.now()))} ago`),
        h("button", { type: "button", class: "primary", "data-test": "recall", onclick: () => recall(order) }, "↺ Recall"),
      ),
    ),
  );
  if (orders.length === 0) $("recent-list").append(h("li", {}, "Nothing completed in the last 30 minutes."));
}

async function recall(order) {
  $("recent").close();
  await act(order, "recall", null);
}

$("open-recent").addEventListener("click", () => {
  renderRecent();
  $("recent").showModal();
});

// ---------------------------------------------------------------- sound

function renderSound() {
  const button = $("sound");
  const on = sounds.enabled;
  button.textContent = on ? "♪ Sound on" : "✕ Sound off";
  button.setAttribute("aria-pressed", on ? "true" : "false");
  button.dataset.state = on ? "on" : "muted";
}
$("start-shift").addEventListener("click", async () => {
  await sounds.start();
  $("shift").hidden = true;
  renderSound();
});
$("start-muted").addEventListener("click", () => {
  $("shift").hidden = true;
  renderSound();
});
$("sound").addEventListener("click", async () => {
  if (sounds.enabled) sounds.muted = true;
  else await sounds.start();
  renderSound();
});

// ---------------------------------------------------------------- keys (keyboard or bump bar)

document.addEventListener("keydown", (event) => {
  if (!state.running || event.target instanceof HTMLInputElement || event.ctrlKey || event.metaKey || event.altKey) return;
  const recentOpen = $("recent").open;
  const tickets = [...$("tickets").querySelectorAll('[data-test="ticket"]')];
  const selectedOrder = () => built.get(`ticket:${tickets[state.selected]?.dataset.orderId}`)?.order;
  if (/^[1-9]$/.test(event.key)) {
    const index = Number(event.key) - 1;
    if (recentOpen) {
      const order = state.board.recentlyCompleted(Date.now())[index];
      if (order) recall(order);
    } else if (index < tickets.length) {
      state.selected = index;
      scheduleRender();
    }
  } else if (event.key === "ArrowRight" || event.key === "ArrowDown") {
    state.selected = Math.min(tickets.length - 1, state.selected + 1);
    scheduleRender();
  } else if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
    state.selected = Math.max(0, state.selected - 1);
    scheduleRender();
  } else if ((event.key === "Enter" || event.key === "b" || event.key === "B") && !recentOpen) {
    if (event.target instanceof HTMLButtonElement && event.key === "Enter") return;
    const order = selectedOrder();
    if (order) bump(order);
  } else if (event.key === "u" || event.key === "U") {
    runUndo();
  } else if (event.key === "r" || event.key === "R") {
    if (recentOpen) $("recent").close();
    else {
      renderRecent();
      $("recent").showModal();
    }
  } else if ((event.key === "x" || event.key === "X") && !recentOpen) {
    const order = selectedOrder();
    if (order) act(order, "rush", { rush: !order.rush });
  } else if (event.key === "a" || event.key === "A") {
    const card = $("tickets").querySelector('[data-test="cancelled"]');
    if (card) acknowledge(card.dataset.orderId);
  } else {
    return;
  }
  event.preventDefault();
});

// ---------------------------------------------------------------- clock

setInterval(() => {
  if (!state.running) return;
  const now = Date.now();
  renderTimers(now);
  renderFreshness();
  renderUndo();
  // A socket that stopped delivering without closing (a Wi-Fi that died quietly): replace it.
  if (state.connected && state.lastHeardAt !== null && now - state.lastHeardAt > DEAD_SOCKET_MS) {
    const socket = state.socket;
    state.socket = null;
    state.connected = false;
    if (socket) {
      socket.onclose = null;
      socket.close();
    }
    reconnectLater();
  }
  state.board.prune(now);
}, 1000);

renderSound();
begin();
