import { test } from "node:test";
import assert from "node:assert/strict";
import { Outbox, MemoryStore, classify, afterConflict, project, requestOf } from "../lib/outbox.js";

const T0 = "2026-12-02T12:00:00Z";
function order(id, version, extra = {}) {
  return {
    id, version, status: "confirmed", created_at: T0, status_changed_at: T0, rush: false,
    items: [
      { id: 1, menu_item_id: 10, name: "Pizza", variant_label: "", quantity: 1, modifiers: [], station: null, done_at: null },
      { id: 2, menu_item_id: 11, name: "Salad", variant_label: "", quantity: 1, modifiers: [], station: null, done_at: null },
    ],
    ...extra,
  };
}
function keys() {
  let n = 0;
  return () => `key-${++n}`;
}

test("requests follow API.md's kitchen floor", () => {
  const base = { orderId: "o-1" };
  assert.deepEqual(requestOf({ ...base, kind: "status", body: { status: "ready" } }),
    { method: "PATCH", path: "/api/kitchen/orders/o-1/", body: { status: "ready" } });
  assert.deepEqual(requestOf({ ...base, kind: "lines", body: { line_ids: [1], done: true } }).path,
    "/api/kitchen/orders/o-1/items/");
  assert.deepEqual(requestOf({ ...base, kind: "recall", body: null }),
    { method: "POST", path: "/api/kitchen/orders/o-1/recall/", body: null });
});

test("answers: lost or busy is retried with the same key; refusals wait for the cook", () => {
  assert.equal(classify(200), "done");
  for (const status of [0, 408, 429, 500, 502, 503, 504]) assert.equal(classify(status), "retry");
  assert.equal(classify(401), "auth");
  assert.equal(classify(409), "conflict");
  for (const status of [400, 403, 404, 410]) assert.equal(classify(status), "failed");
});

test("one action per order on the wire, in order; the next one builds on the answer", async () => {
  const box = new Outbox(new MemoryStore(), keys());
  const a = order("a", 3);
  const first = await box.add(a, "lines", { line_ids: [1], done: true });
  const second = await box.add(a, "status", { status: "ready" });
  const other = await box.add(order("b", 1), "rush", { rush: true });
  assert.equal(first.baseVersion, 3);
  assert.equal(second.baseVersion, null, "sent on the version the first one makes");
  assert.deepEqual(box.sendable().map((x) => x.key), [first.key, other.key]);
  box.sending(first);
  assert.deepEqual(box.sendable().map((x) => x.key), [other.key], "nothing else of a while one is on the wire");
  await box.done(first, order("a", 4));
  assert.deepEqual(box.sendable().map((x) => x.key), [second.key, other.key]);
  assert.equal(box.sendable()[0].baseVersion, 4);
  assert.equal(box.waiting(), 2);
});

test("a lost answer is sent again with the same key, so the server applies it once", async () => {
  const box = new Outbox(new MemoryStore(), keys());
  const action = await box.add(order("a", 1), "status", { status: "preparing" });
  box.sending(action);
  await box.retry(action);
  const [again] = box.sendable();
  assert.equal(again.key, action.key);
  assert.equal(again.baseVersion, 1);
  assert.equal(await box.withdraw(again), false, "an undo of something maybe applied is an action of its own");
});

test("the queue survives a reload through its store", async () => {
  const store = new MemoryStore();
  const box = new Outbox(store, keys());
  await box.add(order("a", 2), "status", { status: "preparing" });
  await box.add(order("a", 2), "lines", { line_ids: [2], done: true });
  const reloaded = new Outbox(store, keys());
  await reloaded.load();
  assert.equal(reloaded.waiting(), 2);
  assert.equal(reloaded.sendable()[0].body.status, "preparing");
  assert.equal(reloaded.sendable()[0].baseVersion, 2);
});

test("a refused action holds back the rest of its order until the cook decides", async () => {
  const box = new Outbox(new MemoryStore(), keys());
  const a = order("a", 2);
  const bump = await box.add(a, "status", { status: "preparing" });
  const rush = await box.add(a, "rush", { rush: true });
  box.sending(bump);
  await box.refuse(bump, "conflict", "The order changed elsewhere.");
  assert.deepEqual(box.forOrder("a").map((x) => x.state), ["conflict", "conflict"]);
  assert.deepEqual(box.sendable(), []);
  assert.equal(box.waiting(), 2, "never dropped silently");
  await box.retryOrder(order("a", 5));
  const [retried] = box.sendable();
  assert.equal(retried.baseVersion, 5);
  assert.notEqual(retried.key, bump.key, "a new decision: the old key's answer is the 409");
  assert.equal(box.forOrder("a")[1].key, rush.key);
  await box.dismissOrder("a");
  assert.equal(box.waiting(), 0);
});

test("after a 409, setting lines or rush goes again on the new version; a bump does not", () => {
  const moved = order("a", 6, { items: [{ ...order("a", 1).items[0], done_at: T0 }, order("a", 1).items[1]] });
  const lines = (ids, done) => ({ kind: "lines", body: { line_ids: ids, done } });
  assert.equal(afterConflict(lines([1], true), moved), "satisfied");
  assert.equal(afterConflict(lines([2], true), moved), "rebase");
  assert.equal(afterConflict(lines([2], true), { ...moved, status: "cancelled" }), "conflict");
  assert.equal(afterConflict({ kind: "rush", body: { rush: true } }, { ...moved, rush: true }), "satisfied");
  assert.equal(afterConflict({ kind: "status", body: { status: "ready" } }, { ...moved, status: "ready" }), "satisfied");
  assert.equal(afterConflict({ kind: "status", body: { status: "ready" } }, { ...moved, status: "completed" }), "conflict");
  assert.equal(afterConflict({ kind: "recall", body: null }, moved), "conflict");
});

test("an undo before sending takes the action back; the next one inherits its base", async () => {
  const box = new Outbox(new MemoryStore(), keys());
  const a = order("a", 4);
  const bump = await box.add(a, "status", { status: "preparing" });
  const later = await box.add(a, "rush", { rush: true });
  assert.equal(await box.withdraw(bump), true);
  assert.deepEqual(box.sendable().map((x) => x.key), [later.key]);
  assert.equal(box.sendable()[0].baseVersion, 4);
});

test("the screen shows pending actions applied to the last known copy", () => {
  const a = order("a", 2);
  const shown = project(a, [
    { kind: "lines", body: { line_ids: [1], done: true }, state: "pending" },
    { kind: "status", body: { status: "ready" }, state: "pending" },
    { kind: "rush", body: { rush: true }, state: "conflict" },
  ]);
  assert.equal(shown.status, "ready");
  assert.ok(shown.items[0].done_at);
  assert.equal(shown.items[1].done_at, null);
  assert.equal(shown.rush, false, "a refused action is not shown as done");
  assert.equal(a.items[0].done_at, null, "the board's copy is untouched");
  assert.equal(project({ ...a, status: "ready" }, [{ kind: "recall", body: null, state: "pending" }]).status, "preparing");
});
