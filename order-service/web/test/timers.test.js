import { test } from "node:test";
import assert from "node:assert/strict";
import { aging, formatAge, freshness, parseAging, secondsSince, startOfDay } from "../lib/timers.js";
import { allDay } from "../lib/allday.js";
import { reconnectDelay, CAP_MS } from "../lib/backoff.js";

const now = Date.parse("2026-12-02T12:10:00Z");

test("ticket age counts up from confirm and never goes negative", () => {
  assert.equal(secondsSince("2026-12-02T12:05:30Z", now), 270);
  assert.equal(secondsSince("2026-12-02T12:10:05Z", now), 0);
  assert.equal(formatAge(65), "1:05");
  assert.equal(formatAge(600), "10:00");
  assert.equal(formatAge(3723), "1:02:03");
});

test("ageing: amber at 5 minutes, red at 10, with a cue besides colour", () => {
  assert.equal(aging(299).level, "fresh");
  assert.equal(aging(300).level, "amber");
  assert.ok(aging(300).cue.length > 0);
  assert.equal(aging(600).level, "red");
  assert.equal(aging(120, { amberAfter: 60, redAfter: 120 }).level, "red");
  assert.deepEqual(parseAging("3", "6"), { amberAfter: 180, redAfter: 360 });
  assert.equal(parseAging("6", "3"), null);
  assert.equal(parseAging("x", "3"), null);
});

test("freshness: live, amber after 15 s of silence or while offline, red after 30 s", () => {
  const at = (ms, extra = {}) =>
    freshness({ connected: true, lastHeardAt: now - ms, now, seq: 42, waiting: 0, ...extra });
  assert.equal(at(3000).level, "live");
  assert.equal(at(3000).text, "live · seq 42 · 3 s ago");
  assert.equal(at(15_001).level, "amber");
  assert.equal(at(30_001).level, "red");
  assert.equal(at(1000, { connected: false }).level, "amber");
  assert.match(at(1000, { connected: false, waiting: 2 }).text, /offline .* 2 actions waiting/);
  assert.equal(at(1000, { connected: false }).text.includes("seq 42"), true);
  assert.equal(freshness({ connected: false, lastHeardAt: null, now, seq: null, waiting: 0 }).level, "red");
  const apiDown = at(1000, { apiReachable: false, waiting: 1 });
  assert.equal(apiDown.level, "amber", "actions cannot go out: not all is well");
  assert.equal(apiDown.text, "live · seq 42 · 1 s ago · order service unreachable · 1 action waiting");
});

test("all-day counts open lines, largest first, per station when asked", () => {
  const line = (menu_item_id, name, quantity, station, done = false) => ({
    id: Math.random(), menu_item_id, name, variant_label: "", quantity, modifiers: [],
    station: station ? { id: station, name: "s" } : null, done_at: done ? "2026-12-02T12:00:00Z" : null,
  });
  const orders = [
    { items: [line(1, "Steak", 2, 7), line(2, "Salad", 1, null), line(1, "Steak", 5, 7, true)] },
    { items: [line(1, "Steak", 1, 7), line(3, "Fries", 3, 8)] },
  ];
  assert.deepEqual(allDay(orders).map((e) => [e.name, e.quantity]), [["Fries", 3], ["Steak", 3], ["Salad", 1]]);
  assert.deepEqual(allDay(orders, 7).map((e) => [e.name, e.quantity]), [["Steak", 3]]);
});

test("reconnect delays grow, are capped and jittered", () => {
  assert.ok(reconnectDelay(0, () => 0) >= 250);
  assert.ok(reconnectDelay(0, () => 0.999) <= 500);
  assert.ok(reconnectDelay(30, () => 0.999) <= CAP_MS);
  assert.notEqual(reconnectDelay(5, () => 0.1), reconnectDelay(5, () => 0.9));
});

test("the stats window starts at local midnight", () => {
  const from = new Date(startOfDay(now));
  assert.equal(from.getHours(), 0);
  assert.ok(Date.parse(startOfDay(now)) <= now);
});
