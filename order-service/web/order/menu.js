// The customer's menu, basket and confirm: GET /order/{slug}/.
//
// The pure parts (prices in cents, bounds, the confirm body, the Idempotency-Key) are in
// basket.js; this file draws them and talks to the API. Text from the API is only ever set as
// textContent, never parsed as HTML.
//
// Stable hooks for the browser tests (data-test attributes; keep them when changing the page):
//   item             each menu item (an <article>), with data-item-id
//   variant          a size's radio input, with data-variant-id (one is always checked)
//   modifier         an extra's checkbox, with data-modifier-id
//   special-requests the note input of an item (goes with the line its Add button adds)
//   item-minus, item-plus, item-quantity   the quantity stepper of an item, before adding
//   add              an item's Add button
//   basket           the basket section
//   basket-line      a line of the basket, with data-item-id, data-variant-id, data-quantity
//   line-minus, line-plus, line-quantity, line-remove   a basket line's controls
//   basket-total     the basket's total ("34.58")
//   table            the table input
//   confirm          the Confirm order button
//   confirm-errors   why the restaurant refused the order (a 400's detail and errors)
//   connection       "Offline — retrying…" while the API cannot be reached (hidden otherwise)
//   recent-order     link to the status of the last order placed here from this browser

import {
  LIMITS,
  addLine,
  confirmBody,
  describeLine,
  emptyBasket,
  explainRefusal,
  forgetSubmission,
  formatCents,
  itemCount,
  lineCents,
  makeLine,
  orderLanguage,
  parseCents,
  parseStored,
  randomKey,
  reconcile,
  removeLine,
  setQuantity,
  setTable,
  storageKey,
  submissionKey,
  totalCents,
  unitCents,
  validate,
} from './basket.js';
import { parseOrderPath, shortOrderNumber, statusPagePath } from './format.js';

/** @typedef {import('./basket.js').Basket} Basket */
/** @typedef {import('./basket.js').Menu} Menu */
/** @typedef {import('./basket.js').MenuItem} MenuItem */

const REQUEST_TIMEOUT_MS = 10000;
const MAX_RETRY_DELAY_MS = 10000;
/** How long the link to the last order stays on the menu. */
const RECENT_ORDER_HOURS = 12;
const ADDED_FEEDBACK_MS = 1500;

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const address = parseOrderPath(location.pathname);
const slug = address ? address.slug : '';

/** @type {Basket} */
let basket = loadBasket();
/** @type {Menu | null} */
let menu = null;
/** True from Confirm until the restaurant answers (or the customer stops the retries). */
let submitting = false;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let retryTimer;
/** What to do when the network comes back: retry now instead of waiting out the delay. */
let retryNow = /** @type {(() => void) | null} */ (null);

// ---- storage ----------------------------------------------------------------------------

function loadBasket() {
  try {
    return parseStored(localStorage.getItem(storageKey(slug)));
  } catch {
    return emptyBasket(); // storage disabled: the basket lives as long as the page
  }
}

function saveBasket() {
  try {
    localStorage.setItem(storageKey(slug), JSON.stringify(basket));
  } catch {
    // Full or disabled storage: the basket still works, it just does not survive a reload.
  }
}

function recentOrderKey() {
  return `kitchen-order:recent:${slug}`;
}

/** @param {string} orderId */
function rememberOrder(orderId) {
  try {
    localStorage.setItem(recentOrderKey(), JSON.stringify({ id: orderId, at: Date.now() }));
  } catch {
    // Only a convenience.
  }
}

function showRecentOrder() {
  let recent;
  try {
    recent = JSON.parse(localStorage.getItem(recentOrderKey()) ?? 'null');
  } catch {
    return;
  }
  if (!recent || typeof recent.id !== 'string' || typeof recent.at !== 'number') return;
  if (Date.now() - recent.at > RECENT_ORDER_HOURS * 3600 * 1000) return;
  const link = /** @type {HTMLAnchorElement} */ ($('recent-order-link'));
  link.href = statusPagePath(slug, recent.id);
  link.textContent = `Your order #${shortOrderNumber(recent.id)}: see how it is going`;
  $('recent-order').hidden = false;
}

// ---- talking to the API -------------------------------------------------------------------

/**
 * A fetch that gives up after a while (a request hanging on a dead Wi-Fi must not hang the
 * page), answering the status and the JSON body (`null` if none).
 * @param {string} url
 * @param {RequestInit} [init]
 * @returns {Promise<{status: number, body: any}>} rejects when the network failed
 */
async function fetchJson(url, init = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      ...init,
      headers: { Accept: 'application/json', ...(init.headers ?? {}) },
      signal: controller.signal,
      cache: 'no-store',
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    return { status: response.status, body };
  } finally {
    clearTimeout(timer);
  }
}

/** @param {number} attempt 0 for the first retry */
function retryDelay(attempt) {
  return Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** attempt);
}

/**
 * Tells the customer whether the restaurant can be reached; honest rather than hopeful.
 * @param {'online' | 'offline' | 'busy'} state
 */
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

/**
 * Waits `delay` ms, or less if the network comes back meanwhile, then calls `again`.
 * @param {number} delay
 * @param {() => void} again
 */
function retryLater(delay, again) {
  clearTimeout(retryTimer);
  const run = () => {
    clearTimeout(retryTimer);
    retryNow = null;
    again();
  };
  retryNow = run;
  retryTimer = setTimeout(run, delay);
}

// ---- the menu -----------------------------------------------------------------------------

/** @param {number} attempt */
async function loadMenu(attempt = 0) {
  let reply;
  try {
    reply = await fetchJson(`/api/order/${encodeURIComponent(slug)}/menu/`);
  } catch {
    setConnection('offline');
    retryLater(retryDelay(attempt), () => loadMenu(attempt + 1));
    return;
  }
  if (reply.status === 404) {
    setConnection('online');
    showMenuProblem('We could not find this restaurant. Please check the address or ask the staff.');
    return;
  }
  if (reply.status !== 200 || !reply.body || !Array.isArray(reply.body.categories)) {
    setConnection('busy');
    retryLater(retryDelay(attempt), () => loadMenu(attempt + 1));
    return;
  }
  setConnection('online');
  menu = /** @type {Menu} */ (reply.body);
  renderMenu(menu);
  const checked = reconcile(basket, menu);
  basket = checked.basket;
  saveBasket();
  if (checked.dropped.length > 0) {
    notice(`No longer on the menu, taken out of your order: ${checked.dropped.join(', ')}.`);
  }
  renderBasket();
}

/** @param {string} text */
function showMenuProblem(text) {
  const section = $('menu');
  section.setAttribute('aria-busy', 'false');
  const message = document.createElement('p');
  message.className = 'errors';
  message.textContent = text;
  section.replaceChildren(message);
}

/** @param {Menu} menu */
function renderMenu(menu) {
  document.title = `${menu.restaurant_name}: menu`;
  $('restaurant-name').textContent = menu.restaurant_name;
  const section = $('menu');
  section.setAttribute('aria-busy', 'false');
  const categories = menu.categories.filter((c) => c.items.length > 0);
  if (categories.length === 0) {
    showMenuProblem('There is nothing on the menu right now.');
    return;
  }
  const nav = $('categories');
  nav.replaceChildren(
    ...categories.map((category) => {
      const link = document.createElement('a');
      link.href = `#category-${category.id}`;
      link.textContent = category.name;
      return link;
    }),
  );
  nav.hidden = categories.length < 2;
  section.replaceChildren(
    ...categories.map((category) => {
      const part = document.createElement('section');
      part.className = 'category';
      part.id = `category-${category.id}`;
      const title = document.createElement('h2');
      title.textContent = category.name;
      part.append(title, ...category.items.map(renderItem));
      return part;
    }),
  );
}

/**
 * An image the page's Content-Security-Policy lets load (this origin or data:), else none:
 * a menu pointing at another site would show a broken image.
 * @param {string | null} url
 */
function allowedImage(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url, location.href);
    return parsed.origin === location.origin || parsed.protocol === 'data:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/**
 * One item's card: its sizes, extras, note and quantity, and Add.
 * @param {MenuItem} item
 */
function renderItem(item) {
  const template = /** @type {HTMLTemplateElement} */ ($('item-template'));
  const card = /** @type {HTMLElement} */ (
    /** @type {DocumentFragment} */ (template.content.cloneNode(true)).firstElementChild
  );
  card.dataset.itemId = String(item.id);
  const part = (/** @type {string} */ selector) =>
    /** @type {HTMLElement} */ (card.querySelector(selector));

  part('.item-name').textContent = item.name;
  const prices = item.variants.map((v) => parseCents(v.price));
  const lowest = Math.min(...prices);
  part('.item-price').textContent =
    prices.every((p) => p === lowest) ? formatCents(lowest) : `from ${formatCents(lowest)}`;
  const description = part('.item-description');
  if (item.description) description.textContent = item.description;
  else description.remove();
  const image = allowedImage(item.image_url);
  if (image) {
    const img = document.createElement('img');
    img.className = 'item-image';
    img.src = image;
    img.alt = '';
    img.loading = 'lazy';
    part('.item-head').after(img);
  }

  const variants = part('.variants');
  const defaultVariant = item.variants.find((v) => v.is_default) ?? item.variants[0];
  for (const variant of item.variants) {
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = `variant-${item.id}`;
    input.value = String(variant.id);
    input.checked = variant === defaultVariant;
    input.dataset.test = 'variant';
    input.dataset.variantId = String(variant.id);
    variants.append(choice(input, variant.label, formatCents(parseCents(variant.price))));
  }
  if (item.variants.length === 1) {
    part('.variants legend').classList.add('visually-hidden');
  }

  const modifiers = part('.modifiers');
  if (item.modifiers.length === 0) modifiers.remove();
  for (const modifier of item.modifiers) {
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = String(modifier.id);
    input.dataset.test = 'modifier';
    input.dataset.modifierId = String(modifier.id);
    modifiers.append(
      choice(input, modifier.name, `+${formatCents(parseCents(modifier.price_adjustment))}`),
    );
  }

  const special = /** @type {HTMLInputElement} */ (part('.special'));
  special.id = `special-${item.id}`;
  special.maxLength = LIMITS.specialRequests;
  /** @type {HTMLLabelElement} */ (part('.special-label')).htmlFor = special.id;

  let quantity = 1;
  const quantityOut = part('.quantity');
  const minus = /** @type {HTMLButtonElement} */ (part('.minus'));
  const plus = /** @type {HTMLButtonElement} */ (part('.plus'));
  const add = /** @type {HTMLButtonElement} */ (part('.add'));
  const error = part('.item-error');

  const chosen = () => {
    const variant = /** @type {HTMLInputElement | null} */ (
      card.querySelector('[data-test="variant"]:checked')
    );
    const modifierIds = [
      .../** @type {NodeListOf<HTMLInputElement>} */ (
        card.querySelectorAll('[data-test="modifier"]:checked')
      ),
    ].map((input) => Number(input.value));
    return makeLine(item, {
      variantId: variant ? Number(variant.value) : NaN,
      modifierIds,
      quantity,
      specialRequests: special.value,
    });
  };
  /** While set, the Add button says "Added" (feedback where the thumb is). */
  let addedUntil = 0;
  const update = () => {
    quantityOut.textContent = String(quantity);
    minus.disabled = quantity <= LIMITS.minQuantity;
    plus.disabled = quantity >= LIMITS.maxQuantity;
    const made = chosen();
    add.textContent =
      Date.now() < addedUntil
        ? 'Added ✓'
        : 'line' in made
          ? `Add · ${formatCents(lineCents(made.line))}`
          : 'Add';
    add.disabled = submitting;
  };
  card.addEventListener('change', () => {
    error.hidden = true;
    update();
  });
  minus.addEventListener('click', () => {
    quantity = Math.max(LIMITS.minQuantity, quantity - 1);
    update();
  });
  plus.addEventListener('click', () => {
    quantity = Math.min(LIMITS.maxQuantity, quantity + 1);
    update();
  });
  add.addEventListener('click', () => {
    const made = chosen();
    if ('error' in made) {
      error.textContent = made.error;
      error.hidden = false;
      return;
    }
    const added = addLine(basket, made.line);
    if (added.full) {
      error.textContent = `An order can have at most ${LIMITS.lines} different lines.`;
      error.hidden = false;
      return;
    }
    basket = added.basket;
    saveBasket();
    renderBasket();
    notice(
      added.capped
        ? `At most ${LIMITS.maxQuantity} of one thing: ${made.line.name} is now ${LIMITS.maxQuantity}.`
        : `Added ${describeLine(made.line)}.`,
    );
    // Ready for the next one: back to the defaults.
    quantity = 1;
    special.value = '';
    for (const box of card.querySelectorAll('[data-test="modifier"]')) {
      /** @type {HTMLInputElement} */ (box).checked = false;
    }
    addedUntil = Date.now() + ADDED_FEEDBACK_MS;
    setTimeout(update, ADDED_FEEDBACK_MS);
    update();
  });
  card.addEventListener('basket-state', update);
  update();
  return card;
}

/**
 * A labelled radio or checkbox, the whole row a touch target.
 * @param {HTMLInputElement} input
 * @param {string} name
 * @param {string} price
 */
function choice(input, name, price) {
  const label = document.createElement('label');
  label.className = 'choice';
  const nameSpan = document.createElement('span');
  nameSpan.className = 'choice-name';
  nameSpan.textContent = name;
  const priceSpan = document.createElement('span');
  priceSpan.className = 'money';
  priceSpan.textContent = price;
  label.append(input, nameSpan, priceSpan);
  return label;
}

// ---- the basket ---------------------------------------------------------------------------

/** @param {string} text */
function notice(text) {
  const element = $('basket-notice');
  element.textContent = text;
  element.hidden = false;
}

function renderBasket() {
  const list = $('basket-lines');
  list.replaceChildren(...basket.lines.map(renderLine));
  const empty = basket.lines.length === 0;
  $('basket-empty').hidden = !empty;
  $('basket-total-row').hidden = empty;
  const total = formatCents(totalCents(basket));
  $('basket-total').textContent = total;
  const count = itemCount(basket);
  $('basket-bar').hidden = empty;
  $('basket-bar-count').textContent = `${count} ${count === 1 ? 'item' : 'items'}`;
  $('basket-bar-total').textContent = total;
  /** @type {HTMLButtonElement} */ ($('confirm')).disabled = empty || submitting || !menu;
  /** @type {HTMLInputElement} */ ($('table')).disabled = submitting;
  // The item cards' Add buttons follow `submitting` too.
  for (const card of document.querySelectorAll('[data-test="item"]')) {
    card.dispatchEvent(new Event('basket-state'));
  }
}

/**
 * @param {import('./basket.js').BasketLine} line
 * @param {number} index
 */
function renderLine(line, index) {
  const item = document.createElement('li');
  item.className = 'basket-line';
  item.dataset.test = 'basket-line';
  item.dataset.itemId = String(line.menu_item_id);
  item.dataset.variantId = String(line.variant_id);
  item.dataset.quantity = String(line.quantity);

  const head = document.createElement('div');
  head.className = 'line-head';
  const name = document.createElement('strong');
  name.textContent = `${line.name} (${line.variant_label})`;
  const price = document.createElement('span');
  price.className = 'money';
  price.textContent = formatCents(lineCents(line));
  head.append(name, price);
  item.append(head);
  if (line.modifiers.length > 0) {
    const extras = document.createElement('p');
    extras.className = 'line-extras';
    extras.textContent = line.modifiers.map((m) => `+ ${m.name}`).join(', ');
    item.append(extras);
  }
  if (line.special_requests) {
    const note = document.createElement('p');
    note.className = 'line-note';
    note.textContent = `“${line.special_requests}”`;
    item.append(note);
  }

  const actions = document.createElement('div');
  actions.className = 'line-actions';
  const stepper = document.createElement('div');
  stepper.className = 'stepper';
  stepper.setAttribute('role', 'group');
  stepper.setAttribute('aria-label', `Quantity of ${line.name}`);
  const minus = button('−', 'line-minus', `One less ${line.name}`);
  minus.disabled = submitting || line.quantity <= LIMITS.minQuantity;
  minus.addEventListener('click', () => changeBasket(setQuantity(basket, index, line.quantity - 1)));
  const quantity = document.createElement('span');
  quantity.className = 'quantity';
  quantity.dataset.test = 'line-quantity';
  quantity.textContent = String(line.quantity);
  const plus = button('+', 'line-plus', `One more ${line.name}`);
  plus.disabled = submitting || line.quantity >= LIMITS.maxQuantity;
  plus.addEventListener('click', () => changeBasket(setQuantity(basket, index, line.quantity + 1)));
  stepper.append(minus, quantity, plus);
  const remove = button('Remove', 'line-remove', `Remove ${line.name}`);
  remove.classList.add('line-remove');
  remove.disabled = submitting;
  remove.addEventListener('click', () => changeBasket(removeLine(basket, index)));
  const each = document.createElement('span');
  each.className = 'muted money';
  each.textContent = line.quantity > 1 ? `${formatCents(unitCents(line))} each` : '';
  actions.append(stepper, each, remove);
  item.append(actions);
  return item;
}

/**
 * @param {string} text
 * @param {string} test
 * @param {string} label
 */
function button(text, test, label) {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = text;
  element.dataset.test = test;
  element.setAttribute('aria-label', label);
  return element;
}

/** @param {Basket} changed */
function changeBasket(changed) {
  basket = changed;
  saveBasket();
  clearErrors();
  renderBasket();
}

// ---- confirming ---------------------------------------------------------------------------

function clearErrors() {
  const box = $('confirm-errors');
  box.hidden = true;
  box.replaceChildren();
}

/** @param {string[]} messages */
function showErrors(messages) {
  const box = $('confirm-errors');
  const intro = document.createElement('p');
  intro.textContent = 'The order was not sent:';
  const list = document.createElement('ul');
  list.append(
    ...messages.map((message) => {
      const entry = document.createElement('li');
      entry.textContent = message;
      return entry;
    }),
  );
  box.replaceChildren(intro, list);
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest' });
}

/** @param {string} text */
function progress(text) {
  const element = $('confirm-progress');
  element.textContent = text;
  element.hidden = !text;
}

function confirmOrder() {
  // The button is disabled while a submission runs; this also covers a tap that lands
  // before the page has redrawn.
  if (submitting || !menu) return;
  clearErrors();
  $('basket-notice').hidden = true;
  const problems = validate(basket);
  if (Object.keys(problems).length > 0) {
    showErrors(Object.values(problems));
    return;
  }
  const body = confirmBody(basket, orderLanguage(navigator.language));
  const keyed = submissionKey(basket, body, () => randomKey(crypto));
  basket = keyed.basket;
  // Saved before sending: after a reload the same basket is the same submission.
  saveBasket();
  submitting = true;
  renderBasket();
  progress('Sending your order…');
  send(body, keyed.key, 0);
}

/**
 * @param {import('./basket.js').ConfirmBody} body
 * @param {string} key
 * @param {number} attempt
 */
async function send(body, key, attempt) {
  let reply;
  try {
    reply = await fetchJson(`/api/order/${encodeURIComponent(slug)}/confirm/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify(body),
    });
  } catch {
    retrySend(body, key, attempt, 'offline');
    return;
  }
  const { status, body: answer } = reply;
  if ((status === 201 || status === 200) && answer && typeof answer.id === 'string') {
    // 200 is the replay of this same submission: the order made the first time. Followed
    // even if the customer stopped the retries meanwhile: the order exists.
    setConnection('online');
    confirmed(answer.id);
    return;
  }
  if (!submitting) return; // stopped meanwhile
  if (status === 429 || status >= 500) {
    retrySend(body, key, attempt, 'busy');
    return;
  }
  setConnection('online');
  finishSubmitting();
  if (status === 404) {
    showErrors(['This restaurant is not taking orders at this address any more.']);
  } else if (status === 409) {
    // The key went with another body (the basket changed in another tab, say): spent.
    basket = forgetSubmission(basket);
    saveBasket();
    showErrors(['Your order changed while it was being sent. Please check it and confirm again.']);
  } else {
    showErrors(explainRefusal(answer ?? {}, basket));
    // Most refusals are a menu that changed since the page loaded (an item taken off): read
    // it again, so what is gone leaves the basket and the customer sees what is left.
    loadMenu();
  }
}

/**
 * @param {import('./basket.js').ConfirmBody} body
 * @param {string} key
 * @param {number} attempt
 * @param {'offline' | 'busy'} why
 */
function retrySend(body, key, attempt, why) {
  if (!submitting) return;
  setConnection(why);
  const delay = retryDelay(attempt);
  progress(
    `Not confirmed yet: trying again in ${Math.round(delay / 1000)} s. ` +
      'Your order will be placed only once, however often it is tried.',
  );
  $('stop-retrying').hidden = false;
  retryLater(delay, () => send(body, key, attempt + 1));
}

function stopRetrying() {
  clearTimeout(retryTimer);
  retryNow = null;
  finishSubmitting();
  progress(
    'Stopped. The order may or may not have reached the kitchen: confirming this same ' +
      'order again will not place it twice.',
  );
}

function finishSubmitting() {
  submitting = false;
  $('stop-retrying').hidden = true;
  progress('');
  renderBasket();
}

/** @param {string} orderId */
function confirmed(orderId) {
  rememberOrder(orderId);
  // The basket is ordered; the table stays, for the next order from the same seat.
  basket = { ...emptyBasket(), table: basket.table };
  saveBasket();
  progress('Confirmed!');
  location.assign(statusPagePath(slug, orderId));
}

// ---- start --------------------------------------------------------------------------------

function start() {
  if (!address) {
    showMenuProblem('This is not the address of a restaurant’s menu.');
    return;
  }
  const table = /** @type {HTMLInputElement} */ ($('table'));
  table.maxLength = LIMITS.table;
  // A QR code on the table may carry its number: /order/{slug}/?table=12.
  const fromLink = new URLSearchParams(location.search).get('table');
  if (fromLink && !basket.table) {
    basket = setTable(basket, fromLink);
    saveBasket();
  }
  table.value = basket.table;
  table.addEventListener('input', () => {
    basket = setTable(basket, table.value);
    saveBasket();
  });
  $('confirm').addEventListener('click', confirmOrder);
  $('stop-retrying').addEventListener('click', stopRetrying);
  window.addEventListener('online', () => {
    if (retryNow) retryNow();
  });
  // Another tab of the same restaurant changed the basket: show that one, not a stale copy.
  window.addEventListener('storage', (event) => {
    if (event.key !== storageKey(slug) || submitting) return;
    basket = parseStored(event.newValue);
    if (menu) basket = reconcile(basket, menu).basket;
    table.value = basket.table;
    renderBasket();
  });
  showRecentOrder();
  renderBasket();
  loadMenu();
}

start();
