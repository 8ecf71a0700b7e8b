// Small pure formatting helpers of the customer pages (no DOM), tested in
// web/test/customer-format.test.js.

/**
 * The order number people read out and see on the kitchen screen: the first 6 characters of
 * the order's id, upper-cased (the kitchen display uses the same rule).
 * @param {string} id the order's UUID
 * @returns {string}
 */
export function shortOrderNumber(id) {
  return String(id).slice(0, 6).toUpperCase();
}
