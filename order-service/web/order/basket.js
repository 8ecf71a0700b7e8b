// The customer's basket as plain data, and everything computed from it: prices in integer
// cents (never floats: 0.1 + 0.2 is not 0.3), the bounds the API enforces, the confirm body and
// its Idempotency-Key. No DOM and no storage here, so it runs under `node --test`
// (web/test/customer-basket.test.js); menu.js does the drawing and saving.
//
// A basket line carries the same fields as a line of the API's Order (name, variant_label,
// variant_price, quantity, special_requests, modifiers [{id, name, price_adjustment}]), plus the
// ids the confirm body needs, so the status page prices an order's lines with the same code.

/**
 * @typedef {{id: number, label: string, price: string, is_default: boolean}} MenuVariant
 * @typedef {{id: number, name: string, price_adjustment: string}} MenuModifier
 * @typedef {{id: number, name: string, description: string | null, image_url: string | null,
 *            variants: MenuVariant[], modifiers: MenuModifier[]}} MenuItem
 * @typedef {{id: number, name: string, sort_order: number, items: MenuItem[]}} MenuCategory
 * @typedef {{restaurant_name: string, categories: MenuCategory[]}} Menu
 *
 * @typedef {{
 *   menu_item_id: number, variant_id: number, modifier_ids: number[], quantity: number,
 *   special_requests: string, name: string, variant_label: string, variant_price: string,
 *   modifiers: MenuModifier[],
 * }} BasketLine
 *
 * A submission in flight: the key sent with a confirm body, kept while the body stays the
 * same, so a double tap, a network retry or a reload after a lost answer makes one order.
 * @typedef {{key: string, fingerprint: string}} Submission
 *
 * @typedef {{lines: BasketLine[], table: string, submission: Submission | null}} Basket
 *
 * @typedef {{
 *   items: {menu_item_id: number, variant_id: number, quantity: number, modifier_ids: number[],
 *           special_requests?: string}[],
 *   raw_input: string, table_identifier?: string, language: string,
 * }} ConfirmBody
 */

/** The API's bounds (API.md, "Customer side"); texts count characters, as the server does. */
export const LIMITS = Object.freeze({
  minQuantity: 1,
  maxQuantity: 99,
  specialRequests: 500,
  table: 50,
  rawInput: 2000,
  lines: 100,
  modifiersPerLine: 20,
});

/** @returns {Basket} */
export function emptyBasket() {
  return { lines: [], table: '', submission: null };
}

// ---- money --------------------------------------------------------------------------------

/**
 * Cents of one of the API's decimal strings ("14.99", "2", "0.5").
 * @param {string} decimal
 * @returns {number}
 */
export function parseCents(decimal) {
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(decimal).trim());
  if (!match) throw new RangeError(`not a price: ${decimal}`);
  const cents = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  if (!Number.isSafeInteger(cents)) throw new RangeError(`price too large: ${decimal}`);
  return cents;
}

/**
 * Cents as the API writes money: "12.50".
 * @param {number} cents
 * @returns {string}
 */
export function formatCents(cents) {
  const sign = cents < 0 ? '-' : '';
  const whole = Math.abs(cents);
  return `${sign}${Math.floor(whole / 100)}.${String(whole % 100).padStart(2, '0')}`;
}

/**
 * One unit of a line: its variant plus its modifiers.
 * @param {{variant_price: string, modifiers: {price_adjustment: string}[]}} line
 * @returns {number} cents
 */
export function unitCents(line) {
  return line.modifiers.reduce(
    (sum, modifier) => sum + parseCents(modifier.price_adjustment),
    parseCents(line.variant_price),
  );
}

/**
 * (variant + modifiers) × quantity, as the server prices it. Works on an Order's lines too.
 * @param {{variant_price: string, modifiers: {price_adjustment: string}[], quantity: number}} line
 * @returns {number} cents
 */
export function lineCents(line) {
  return unitCents(line) * line.quantity;
}

/**
 * @param {Basket} basket
 * @returns {number} cents
 */
export function totalCents(basket) {
  return basket.lines.reduce((sum, line) => sum + lineCents(line), 0);
}

/**
 * How many things are in the basket (two pizzas and a salad: 3).
 * @param {Basket} basket
 */
export function itemCount(basket) {
  return basket.lines.reduce((sum, line) => sum + line.quantity, 0);
}

// ---- bounds -------------------------------------------------------------------------------

/**
 * Characters as the server counts them (code points, so an emoji is one, not two).
 * @param {string} text
 */
export function textLength(text) {
  return [...text].length;
}

/**
 * `text` cut to at most `max` characters, without splitting a character in two.
 * @param {string} text
 * @param {number} max
 */
export function clip(text, max) {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max).join('');
}

/**
 * A quantity within 1..=99 (anything that is not a number becomes 1).
 * @param {number} quantity
 */
export function clampQuantity(quantity) {
  const whole = Math.trunc(Number(quantity));
  if (!Number.isFinite(whole)) return LIMITS.minQuantity;
  return Math.min(LIMITS.maxQuantity, Math.max(LIMITS.minQuantity, whole));
}

// ---- changing the basket (each returns a new basket) ----------------------------------------

/**
 * A line for `item`, with the menu's names and prices, or the reason it cannot be one.
 * @param {MenuItem} item
 * @param {{variantId: number, modifierIds?: number[], quantity?: number,
 *          specialRequests?: string}} choice
 * @returns {{line: BasketLine} | {error: string}}
 */
export function makeLine(item, choice) {
  const variant = item.variants.find((v) => v.id === choice.variantId);
  if (!variant) return { error: 'Choose a size first.' };
  const modifierIds = [...new Set(choice.modifierIds ?? [])].sort((a, b) => a - b);
  const modifiers = [];
  for (const id of modifierIds) {
    const modifier = item.modifiers.find((m) => m.id === id);
    if (!modifier) return { error: 'One of the extras is no longer on the menu.' };
    modifiers.push({ ...modifier });
  }
  if (modifiers.length > LIMITS.modifiersPerLine) {
    return { error: `At most ${LIMITS.modifiersPerLine} extras on one item.` };
  }
  const specialRequests = (choice.specialRequests ?? '').trim();
  if (textLength(specialRequests) > LIMITS.specialRequests) {
    return { error: `A note can be at most ${LIMITS.specialRequests} characters.` };
  }
  return {
    line: {
      menu_item_id: item.id,
      variant_id: variant.id,
      modifier_ids: modifierIds,
      quantity: clampQuantity(choice.quantity ?? 1),
      special_requests: specialRequests,
      name: item.name,
      variant_label: variant.label,
      variant_price: variant.price,
      modifiers,
    },
  };
}

/** Two lines are the same choice (so adding one again adds to the other's quantity). */
function sameChoice(/** @type {BasketLine} */ a, /** @type {BasketLine} */ b) {
  return (
    a.menu_item_id === b.menu_item_id &&
    a.variant_id === b.variant_id &&
    a.special_requests === b.special_requests &&
    a.modifier_ids.length === b.modifier_ids.length &&
    a.modifier_ids.every((id, i) => id === b.modifier_ids[i])
  );
}

/**
 * Adds a line, onto an equal one if there is one. `capped` tells that the quantity hit 99;
 * `full` that the basket already has the most lines an order may have.
 * @param {Basket} basket
 * @param {BasketLine} line
 * @returns {{basket: Basket, capped: boolean, full: boolean}}
 */
export function addLine(basket, line) {
  const index = basket.lines.findIndex((existing) => sameChoice(existing, line));
  if (index === -1) {
    if (basket.lines.length >= LIMITS.lines) return { basket, capped: false, full: true };
    return { basket: { ...basket, lines: [...basket.lines, line] }, capped: false, full: false };
  }
  const wanted = basket.lines[index].quantity + line.quantity;
  const quantity = clampQuantity(wanted);
  return {
    basket: replaceLine(basket, index, { ...basket.lines[index], quantity }),
    capped: quantity < wanted,
    full: false,
  };
}

/**
 * @param {Basket} basket
 * @param {number} index
 * @param {number} quantity kept within 1..=99
 * @returns {Basket}
 */
export function setQuantity(basket, index, quantity) {
  const line = basket.lines[index];
  if (!line) return basket;
  return replaceLine(basket, index, { ...line, quantity: clampQuantity(quantity) });
}

/**
 * @param {Basket} basket
 * @param {number} index
 * @returns {Basket}
 */
export function removeLine(basket, index) {
  if (!basket.lines[index]) return basket;
  return { ...basket, lines: basket.lines.filter((_, i) => i !== index) };
}

/**
 * The table as typed (cut to its bound; `validate` tells about blanks).
 * @param {Basket} basket
 * @param {string} table
 * @returns {Basket}
 */
export function setTable(basket, table) {
  return { ...basket, table: clip(String(table), LIMITS.table) };
}

function replaceLine(/** @type {Basket} */ basket, /** @type {number} */ index, line) {
  return { ...basket, lines: basket.lines.map((old, i) => (i === index ? line : old)) };
}

/**
 * The basket against the menu as it is now: names and prices refreshed (the server prices the
 * order from the menu anyway), and lines whose item, size or extras are gone dropped, so a
 * basket kept overnight cannot send what the kitchen no longer makes.
 * @param {Basket} basket
 * @param {Menu} menu
 * @returns {{basket: Basket, dropped: string[]}} dropped: the names of the lines taken out
 */
export function reconcile(basket, menu) {
  /** @type {Map<number, MenuItem>} */
  const items = new Map();
  for (const category of menu.categories) {
    for (const item of category.items) items.set(item.id, item);
  }
  const dropped = [];
  const lines = [];
  for (const line of basket.lines) {
    const item = items.get(line.menu_item_id);
    const made =
      item &&
      makeLine(item, {
        variantId: line.variant_id,
        modifierIds: line.modifier_ids,
        quantity: line.quantity,
        specialRequests: line.special_requests,
      });
    if (made && 'line' in made) lines.push(made.line);
    else dropped.push(line.name);
  }
  return { basket: { ...basket, lines }, dropped };
}

// ---- confirming -------------------------------------------------------------------------

/**
 * What would make the server refuse the basket, by field; empty when it may be sent.
 * @param {Basket} basket
 * @returns {Record<string, string>}
 */
export function validate(basket) {
  /** @type {Record<string, string>} */
  const errors = {};
  if (basket.lines.length === 0) errors.items = 'Add something to your order first.';
  if (basket.lines.length > LIMITS.lines) {
    errors.items = `An order can have at most ${LIMITS.lines} lines.`;
  }
  if (textLength(basket.table.trim()) > LIMITS.table) {
    errors.table_identifier = `The table can be at most ${LIMITS.table} characters.`;
  }
  basket.lines.forEach((line, i) => {
    if (textLength(line.special_requests) > LIMITS.specialRequests) {
      errors[`items[${i}].special_requests`] =
        `A note can be at most ${LIMITS.specialRequests} characters.`;
    }
  });
  return errors;
}

/**
 * A person's reading of one line: `2× Pizza (Large) + Extra Cheese, "well done"`.
 * @param {{quantity: number, name: string, variant_label: string, modifiers: {name: string}[],
 *          special_requests?: string | null}} line
 */
export function describeLine(line) {
  const extras = line.modifiers.map((m) => ` + ${m.name}`).join('');
  const note = line.special_requests ? `, "${line.special_requests}"` : '';
  return `${line.quantity}× ${line.name} (${line.variant_label})${extras}${note}`;
}

/**
 * The order as a person would say it, for `raw_input`: the lines joined with "; ", within
 * the API's 2000 characters.
 * @param {Basket} basket
 */
export function rawInput(basket) {
  const text = basket.lines.map(describeLine).join('; ');
  if (textLength(text) <= LIMITS.rawInput) return text;
  return `${clip(text, LIMITS.rawInput - 1)}…`;
}

/**
 * The language of the order: the browser's two-letter language ("de" of "de-AT"), else "en".
 * @param {string | undefined | null} browserLanguage `navigator.language`
 */
export function orderLanguage(browserLanguage) {
  const primary = String(browserLanguage ?? '').split('-')[0].toLowerCase();
  return /^[a-z]{2}$/.test(primary) ? primary : 'en';
}

/**
 * The body of `POST /api/order/{slug}/confirm/`. An empty note is left out, as is a blank table
 * (the order then has `table_identifier: null`).
 * @param {Basket} basket
 * @param {string} language
 * @returns {ConfirmBody}
 */
export function confirmBody(basket, language) {
  /** @type {ConfirmBody} */
  const body = {
    items: basket.lines.map((line) => {
      /** @type {ConfirmBody['items'][number]} */
      const item = {
        menu_item_id: line.menu_item_id,
        variant_id: line.variant_id,
        quantity: line.quantity,
        modifier_ids: [...line.modifier_ids],
      };
      if (line.special_requests) item.special_requests = line.special_requests;
      return item;
    }),
    raw_input: rawInput(basket),
    language,
  };
  const table = basket.table.trim();
  if (table) body.table_identifier = table;
  return body;
}

/**
 * The Idempotency-Key for sending `body`: the one already used for this very body (a double
 * tap, a retry after a lost answer, even after a reload), else a new one from `newKey`. The
 * basket returned remembers it; save it before sending.
 * @param {Basket} basket
 * @param {ConfirmBody} body
 * @param {() => string} newKey e.g. `() => crypto.randomUUID()`
 * @returns {{basket: Basket, key: string}}
 */
export function submissionKey(basket, body, newKey) {
  const fingerprint = JSON.stringify(body);
  if (basket.submission && basket.submission.fingerprint === fingerprint) {
    return { basket, key: basket.submission.key };
  }
  const key = newKey();
  return { basket: { ...basket, submission: { key, fingerprint } }, key };
}

/**
 * A fresh Idempotency-Key (a random UUID). `crypto.randomUUID` exists only in secure contexts
 * (HTTPS or localhost), and a restaurant's LAN address is often plain HTTP, so without it the
 * UUID is made from `crypto.getRandomValues`, which every context has.
 * @param {{randomUUID?: () => string, getRandomValues: (a: Uint8Array) => Uint8Array}} random
 * @returns {string}
 */
export function randomKey(random) {
  if (typeof random.randomUUID === 'function') return random.randomUUID();
  const bytes = random.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The basket without its submission: after a 409 the key is spent, and the next try needs
 * another.
 * @param {Basket} basket
 * @returns {Basket}
 */
export function forgetSubmission(basket) {
  return { ...basket, submission: null };
}

/**
 * A 400's `detail` and `errors` as sentences a customer can act on: the field names of the
 * API (`items[1].quantity`) become the line they are about ("Pizza (Large): must be …").
 * @param {{detail?: string, errors?: Record<string, string[]>}} body
 * @param {Basket} basket the basket that was sent
 * @returns {string[]}
 */
export function explainRefusal(body, basket) {
  const messages = [];
  const errors = body && typeof body.errors === 'object' && body.errors ? body.errors : {};
  for (const [field, problems] of Object.entries(errors)) {
    const line = /^items\[(\d+)\]/.exec(field);
    const lineData = line ? basket.lines[Number(line[1])] : undefined;
    const subject = lineData
      ? `${lineData.name} (${lineData.variant_label})`
      : FIELD_NAMES[field] ?? field;
    for (const problem of Array.isArray(problems) ? problems : [problems]) {
      messages.push(`${subject}: ${problem}`);
    }
  }
  if (messages.length === 0 && body && body.detail) messages.push(String(body.detail));
  if (messages.length === 0) messages.push('The restaurant could not take this order.');
  return messages;
}

const FIELD_NAMES = {
  items: 'Your order',
  table_identifier: 'Table',
  raw_input: 'Your order',
  language: 'Language',
};

// ---- keeping it across reloads --------------------------------------------------------------

/**
 * Where a restaurant's basket is kept in `localStorage`: one basket per restaurant.
 * @param {string} slug
 */
export function storageKey(slug) {
  return `kitchen-order:basket:${slug}`;
}

/**
 * A basket from what was stored, or an empty one if the text is not a basket (storage from an
 * older release, or edited by hand): a broken basket must not break the page.
 * @param {string | null} text
 * @returns {Basket}
 */
export function parseStored(text) {
  let data;
  try {
    data = JSON.parse(text ?? '');
  } catch {
    return emptyBasket();
  }
  if (!data || typeof data !== 'object' || !Array.isArray(data.lines)) return emptyBasket();
  const lines = data.lines.filter(isLine).slice(0, LIMITS.lines);
  const submission =
    data.submission &&
    typeof data.submission.key === 'string' &&
    typeof data.submission.fingerprint === 'string'
      ? { key: data.submission.key, fingerprint: data.submission.fingerprint }
      : null;
  const table = typeof data.table === 'string' ? clip(data.table, LIMITS.table) : '';
  return { lines, table, submission };
}

function isLine(/** @type {any} */ line) {
  const whole = (/** @type {unknown} */ n) => Number.isSafeInteger(n);
  return (
    line &&
    whole(line.menu_item_id) &&
    whole(line.variant_id) &&
    Array.isArray(line.modifier_ids) &&
    line.modifier_ids.every(whole) &&
    whole(line.quantity) &&
    line.quantity >= LIMITS.minQuantity &&
    line.quantity <= LIMITS.maxQuantity &&
    typeof line.special_requests === 'string' &&
    typeof line.name === 'string' &&
    typeof line.variant_label === 'string' &&
    isPrice(line.variant_price) &&
    Array.isArray(line.modifiers) &&
    line.modifiers.every(
      (/** @type {any} */ m) => m && whole(m.id) && typeof m.name === 'string' && isPrice(m.price_adjustment),
    )
  );
}

function isPrice(/** @type {unknown} */ text) {
  return typeof text === 'string' && /^\d+(?:\.\d{1,2})?$/.test(text);
}
