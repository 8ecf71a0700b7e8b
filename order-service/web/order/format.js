// Small pure formatting helpers of the customer pages (no DOM), tested in
// web/test/customer-format.test.js.

/**
 * The order number people read out and compare with the kitchen screen: the LAST 6 hex digits
 * of the order's id, upper-cased. Not the first 6: order ids are UUIDv7, whose first 12 hex
 * digits are the creation time in milliseconds, so the first 6 stay the same for about 4.7
 * hours and every order of an evening would get the same number. The last 8 hex digits of a
 * v7 id are random (the uuid crate keeps its counter in the bits above them), so 6 of them
 * tell apart the orders a kitchen has at once. The kitchen display must use this same rule.
 * @param {string} id the order's UUID
 * @returns {string}
 */
export function shortOrderNumber(id) {
  return String(id).replace(/-/g, '').slice(-6).toUpperCase();
}

/**
 * The restaurant and order a customer page is about, from its address:
 * `/order/{slug}/` → `{slug, orderId: null}`, `/order/{slug}/{order_id}/` → both; `null` for
 * any other address.
 * @param {string} pathname `location.pathname`
 * @returns {{slug: string, orderId: string | null} | null}
 */
export function parseOrderPath(pathname) {
  const match = /^\/order\/([a-z0-9]+(?:-[a-z0-9]+)*)\/(?:([0-9a-fA-F-]{32,36})\/)?$/.exec(pathname);
  if (!match) return null;
  return { slug: match[1], orderId: match[2] ? match[2].toLowerCase() : null };
}

/**
 * The status page of an order.
 * @param {string} slug
 * @param {string} orderId
 */
export function statusPagePath(slug, orderId) {
  return `/order/${encodeURIComponent(slug)}/${encodeURIComponent(orderId)}/`;
}

/**
 * A time of day as the customer's clock shows it ("12:03:04"), for "last checked".
 * @param {Date} date
 * @param {string | undefined} [locale]
 */
export function clockTime(date, locale) {
  return date.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
