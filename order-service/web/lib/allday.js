// The all-day panel: how many of each dish are still to make. The same rule as the kitchen
// list's `all_day` (API.md, "The kitchen list, by station"), computed here from the board so it
// follows every frame without a refetch.

/**
 * @param {import("./board.js").Order[]} orders the orders shown
 * @param {number|null} station only this station's lines, or all
 * @returns {{menu_item_id: number, name: string, variant_label: string, quantity: number}[]}
 */
export function allDay(orders, station = null) {
  const counts = new Map();
  for (const order of orders) {
    for (const line of order.items) {
      if (line.done_at) continue;
      if (station !== null && line.station?.id !== station) continue;
      const key = JSON.stringify([line.menu_item_id, line.name, line.variant_label]);
      const entry = counts.get(key) ?? {
        menu_item_id: line.menu_item_id,
        name: line.name,
        variant_label: line.variant_label,
        quantity: 0,
      };
      entry.quantity += line.quantity;
      counts.set(key, entry);
    }
  }
  const byText = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return [...counts.values()].sort(
    (a, b) =>
      b.quantity - a.quantity ||
      byText(a.name, b.name) ||
      byText(a.variant_label, b.variant_label) ||
      a.menu_item_id - b.menu_item_id,
  );
}
