// The customer's order status: GET /order/{slug}/{order_id}/.
//
// It polls GET /api/order/{slug}/status/{order_id}/ rather than listening on the kitchen
// WebSocket, which is staff-only (see status-model.js for the reason and the rhythm: 1 s while
// visible, 15 s while hidden, at once on `online` and when the tab is shown again, stopping on
// completed or cancelled). The pure parts (steps, delays, ordering of answers) are in
// status-model.js.
//
// Stable hooks for the browser tests (data-test attributes; keep them when changing the page):
//   status        the status section; data-status="<the order's status>" ("" while loading,
//                 "not-found" when there is no such order at this restaurant)
//   step          each step, with data-step="<status>" and data-state="done|current|upcoming"
//   order-number  the short order number (format.js shortOrderNumber)
//   line          each line of the order, with data-item-id and data-quantity
//   total         the order's total ("33.98", from the server)
//   connection    "Offline — retrying…" while the API cannot be reached (hidden otherwise)

import { describeLine, formatCents, lineCents } from './basket.js';
import { clockTime, parseOrderPath, shortOrderNumber } from './format.js';
import { STEP_LABELS, isFinal, isNewer, pollDelay, statusMessage, steps } from './status-model.js';

/** @typedef {{id: number, menu_item_id: number, name: string, variant_label: string,
 *   variant_price: string, quantity: number, special_requests: string | null,
 *   modifiers: {id: number, name: string, price_adjustment: string}[]}} OrderLine */
/** @typedef {{id: string, status: string, version: number, table_identifier: string | null,
 *   total_price: string, items: OrderLine[]}} Order */

const REQUEST_TIMEOUT_MS = 8000;

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const address = parseOrderPath(location.pathname);

/** @type {Order | null} */
let shown = null;
let failures = 0;
let inFlight = false;
/** No more questions: the order is final, or there is no such order. */
let stopped = false;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
/** @type {Date | null} */
let lastAnswer = null;

async function poll() {
  if (inFlight || stopped || !address || !address.orderId) return;
  clearTimeout(timer);
  inFlight = true;
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(
      `/api/order/${encodeURIComponent(address.slug)}/status/${encodeURIComponent(address.orderId)}/`,
      { headers: { Accept: 'application/json' }, cache: 'no-store', signal: controller.signal },
    );
    if (response.status === 404) {
      stopped = true;
      setConnection('online');
      notFound();
    } else if (response.ok) {
      const order = /** @type {Order} */ (await response.json());
      failures = 0;
      lastAnswer = new Date();
      setConnection('online');
      if (isNewer(shown, order)) render(order);
      if (isFinal(order.status)) stopped = true;
    } else {
      failures += 1;
      setConnection('busy');
    }
  } catch {
    failures += 1;
    setConnection('offline');
  } finally {
    clearTimeout(timeout);
    inFlight = false;
  }
  freshness();
  if (!stopped) {
    const visible = document.visibilityState === 'visible';
    timer = setTimeout(poll, pollDelay({ visible, failures }));
  }
}

/** @param {'online' | 'offline' | 'busy'} state */
function setConnection(state) {
  const banner = $('connection');
  banner.dataset.state = state;
  banner.hidden = state === 'online';
  banner.textContent =
    state === 'offline'
      ? 'Offline — retrying…'
      : state === 'busy'
        ? 'The restaurant is busy — retrying…'
        : '';
}

/** When the page last heard from the restaurant, so a stale status never passes for news. */
function freshness() {
  const updated = $('updated');
  if (!lastAnswer) {
    updated.textContent = '';
    return;
  }
  const at = clockTime(lastAnswer);
  updated.textContent =
    stopped || failures === 0 ? `Checked at ${at}` : `Last heard from the restaurant at ${at}`;
}

/** @param {Order} order */
function render(order) {
  const before = shown ? shown.status : null;
  shown = order;
  const section = $('status');
  section.dataset.status = order.status;
  $('status-text').textContent = statusMessage(order.status);
  const number = shortOrderNumber(order.id);
  $('order-number').textContent = `#${number}`;
  const label = STEP_LABELS[/** @type {keyof typeof STEP_LABELS} */ (order.status)] ?? order.status;
  // A hidden tab still shows its title: the status is readable from the tab bar.
  document.title = `${label}: order #${number}`;

  $('steps').replaceChildren(
    ...steps(order.status).map((step) => {
      const entry = document.createElement('li');
      entry.className = 'step';
      entry.dataset.test = 'step';
      entry.dataset.step = step.status;
      entry.dataset.state = step.state;
      if (step.state === 'current') entry.setAttribute('aria-current', 'step');
      entry.textContent = step.label;
      return entry;
    }),
  );

  const table = order.table_identifier;
  $('table-row').hidden = !table;
  $('table').textContent = table ?? '';
  $('lines').replaceChildren(...order.items.map(renderLine));
  $('total-row').hidden = false;
  $('total').textContent = order.total_price;

  if (order.status === 'ready' && before && before !== 'ready' && 'vibrate' in navigator) {
    navigator.vibrate(300); // a phone in a pocket notices
  }
}

/** @param {OrderLine} line */
function renderLine(line) {
  const entry = document.createElement('li');
  entry.className = 'basket-line';
  entry.dataset.test = 'line';
  entry.dataset.itemId = String(line.menu_item_id);
  entry.dataset.quantity = String(line.quantity);
  const head = document.createElement('div');
  head.className = 'line-head';
  const text = document.createElement('span');
  text.textContent = describeLine({ ...line, special_requests: null });
  const price = document.createElement('span');
  price.className = 'money';
  try {
    price.textContent = formatCents(lineCents(line));
  } catch {
    price.textContent = ''; // the order's total still comes from the server
  }
  head.append(text, price);
  entry.append(head);
  if (line.special_requests) {
    const note = document.createElement('p');
    note.className = 'line-note';
    note.textContent = `“${line.special_requests}”`;
    entry.append(note);
  }
  return entry;
}

function notFound() {
  const section = $('status');
  section.dataset.status = 'not-found';
  $('status-text').textContent =
    'We cannot find this order at this restaurant. Please check the address or ask the staff.';
  $('steps').replaceChildren();
}

function start() {
  if (!address || !address.orderId) {
    notFound();
    return;
  }
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') poll();
  });
  window.addEventListener('online', () => poll());
  poll();
}

start();
