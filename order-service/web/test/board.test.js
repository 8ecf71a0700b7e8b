import { test } from "node:test";
import assert from "node:assert/strict";
import { Board, normalize, ticketsFor, nextStatus, shortNumber, openLinesAt } from "../lib/board.js";

const T0 = "2026-12-02T12:00:00Z";

function order(id, version, extra = {}) {
  return {
    id, version, status: "confirmed", created_at: T0, status_changed_at: T0, rush: false,
    table_identifier: "5", recalled_at: null, ready_at: null, completed_at: null,
    items: [{ id: 1, menu_item_id: 10, name: "Pizza", variant_label: "Large", quantity: 1,
      modifiers: [], special_requests: null, station: { id: 3, name: "grill" }, done_at: null }],
    ...extra,
  };
}
const change = (seq, o, event = "order.updated") => ({ seq, event, order: o });

test("a frame and an event of the log normalize to one shape", () => {
  const frame = { ...order("a", 2), event: "order.updated", event_id: "e", seq: 7 };
  const fromFrame = normalize(frame);
  assert.equal(fromFrame.seq, 7);
  assert.equal(fromFrame.order.id, "a");
  assert.equal("seq" in fromFrame.order, false);
  const fromLog = normalize({ event: "order.confirmed", event_id: "e", seq: 7, order: order("a", 1) });
  assert.equal(fromLog.order.version, 1);
  assert.deepEqual(normalize({ event: "heartbeat", seq: 4, at: T0 }), { event: "heartbeat", seq: 4 });
  assert.deepEqual(normalize({ event: "heartbeat", seq: null }), { event: "heartbeat", seq: null });
  assert.equal(normalize({ event: "something.new", seq: 1 }), null);
  assert.equal(normalize("nonsense"), null);
});

test("frames before the kitchen list wait for it and only newer copies win", () => {
  const board = new Board();
  board.apply(change(5, order("a", 3)));
  board.apply(change(6, order("b", 1), "order.confirmed"));
  const { changed } = board.loadSnapshot({ seq: 5, orders: [order("a", 3)] });
  assert.equal(board.lastSeq, 6);
  assert.deepEqual(changed.map((o) => o.id), ["a", "b"]);
  assert.equal(board.orders.get("b").version, 1);
  assert.equal(board.missing(), false);
});

test("a duplicate or an older copy changes nothing", () => {
  const board = new Board();
  board.loadSnapshot({ seq: 1, orders: [order("a", 2)] });
  assert.equal(board.apply(change(1, order("a", 1))).order, null);
  assert.equal(board.apply(change(2, order("a", 2))).order, null);
  assert.equal(board.orders.get("a").version, 2);
  assert.equal(board.lastSeq, 2);
});

test("a hole is reported until the event log fills it, applied copies win by version", () => {
  const board = new Board();
  board.loadSnapshot({ seq: 10, orders: [] });
  const after = board.apply(change(13, order("a", 3)));
  assert.equal(after.hole, true);
  assert.equal(board.lastSeq, 10);
  assert.equal(board.orders.get("a").version, 3, "shown at once, whatever the hole");
  board.apply(change(11, order("a", 1), "order.confirmed"));
  assert.equal(board.missing(), true);
  const filled = board.apply(change(12, order("a", 2)));
  assert.equal(filled.hole, false);
  assert.equal(board.lastSeq, 13);
  assert.equal(board.orders.get("a").version, 3, "the older copies from the log do not win");
});

test("a heartbeat above what was applied is a missed tail", () => {
  const board = new Board();
  board.loadSnapshot({ seq: 4, orders: [] });
  assert.equal(board.heard(4), false);
  assert.equal(board.heard(6), true);
  board.apply(change(5, order("a", 1)));
  assert.equal(board.missing(), true);
  board.apply(change(6, order("a", 2)));
  assert.equal(board.missing(), false);
});

test("a snapshot after a resync drops orders that left the board unseen", () => {
  const board = new Board();
  board.loadSnapshot({ seq: 2, orders: [order("a", 1), order("b", 1)] });
  const { gone } = board.loadSnapshot({ seq: 9, orders: [order("b", 4)] });
  assert.deepEqual(gone.map((o) => o.id), ["a"]);
  assert.equal(board.orders.has("a"), false);
  assert.equal(board.orders.get("b").version, 4);
  assert.equal(board.lastSeq, 9);
});

test("tickets: rush first, then oldest; completed ones go to the recall drawer for 30 minutes", () => {
  const board = new Board();
  const late = order("late", 1, { created_at: "2026-12-02T12:05:00Z" });
  const early = order("early", 1, { created_at: "2026-12-02T12:01:00Z" });
  const rushed = order("rushed", 2, { created_at: "2026-12-02T12:09:00Z", rush: true });
  const done = order("done", 5, { status: "completed", status_changed_at: "2026-12-02T12:10:00Z" });
  board.loadSnapshot({ seq: 1, orders: [late, early, rushed] });
  board.apply(change(2, done, "order.status_changed"));
  assert.deepEqual(board.active().map((o) => o.id), ["rushed", "early", "late"]);
  const now = Date.parse("2026-12-02T12:20:00Z");
  assert.deepEqual(board.recentlyCompleted(now).map((o) => o.id), ["done"]);
  const later = Date.parse("2026-12-02T12:41:00Z");
  assert.deepEqual(board.recentlyCompleted(later), []);
  board.prune(later);
  assert.equal(board.orders.has("done"), false);
  assert.equal(board.orders.has("late"), true, "active orders are never pruned");
});

test("views: a station sees orders with its own open lines; expo puts ready first", () => {
  const grillLine = (id, done) => ({ id, menu_item_id: 1, name: "Steak", variant_label: "", quantity: 1,
    modifiers: [], station: { id: 3, name: "grill" }, done_at: done ? T0 : null });
  const coldLine = (id) => ({ id, menu_item_id: 2, name: "Salad", variant_label: "", quantity: 1,
    modifiers: [], station: { id: 4, name: "cold" }, done_at: null });
  const a = order("a", 1, { items: [grillLine(1, false), coldLine(2)] });
  const b = order("b", 1, { status: "ready", items: [grillLine(3, true), coldLine(4)] });
  const active = [a, b];
  assert.deepEqual(ticketsFor(active, "all").map((o) => o.id), ["a", "b"]);
  assert.deepEqual(ticketsFor(active, "expo").map((o) => o.id), ["b", "a"]);
  assert.deepEqual(ticketsFor(active, 3).map((o) => o.id), ["a"]);
  assert.deepEqual(ticketsFor(active, 4).map((o) => o.id), ["a", "b"]);
  assert.deepEqual(openLinesAt(a, 3), [1]);
});

test("bump targets and short numbers", () => {
  assert.equal(nextStatus("confirmed"), "preparing");
  assert.equal(nextStatus("preparing"), "ready");
  assert.equal(nextStatus("ready"), "completed");
  assert.equal(nextStatus("completed"), null);
  assert.equal(shortNumber("019ae3c1-7a2b-7c3d-8e4f-0123456789ab"), "6789AB");
});
