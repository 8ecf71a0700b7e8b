import { test } from "node:test";
import assert from "node:assert/strict";
import { Session, MemoryKeyValue } from "../lib/session.js";

/** A fetch that answers from a script of (method path) → [status, body], recording calls. */
function scripted(routes) {
  const calls = [];
  const fetchFn = async (path, init) => {
    calls.push({ path, init, body: init.body ? JSON.parse(init.body) : null });
    const handler = routes[`${init.method} ${path}`];
    if (!handler) throw new TypeError("Failed to fetch");
    const [status, body] = handler(init, calls);
    return { status, json: async () => body };
  };
  return { fetchFn, calls };
}

test("login keeps the tokens across a reload; logout forgets them and tells the server", async () => {
  const storage = new MemoryKeyValue();
  const { fetchFn, calls } = scripted({
    "POST /api/auth/login/": () => [200, { access: "a1", refresh: "r1" }],
    "POST /api/auth/logout/": () => [204, null],
  });
  const session = new Session(fetchFn, storage);
  assert.equal((await session.login("cook@x", "pw")).status, 200);
  assert.equal(new Session(fetchFn, storage).tokens.refresh, "r1");
  await session.logout();
  assert.equal(new Session(fetchFn, storage).loggedIn, false);
  assert.deepEqual(calls.at(-1).body, { refresh: "r1" });
});

test("an expired access token is refreshed once, keeping a rotated refresh token", async () => {
  const storage = new MemoryKeyValue();
  let access = "a1";
  const { fetchFn, calls } = scripted({
    "GET /api/restaurants/": (init) =>
      init.headers.Authorization === `Bearer ${access}` ? [200, []] : [401, { detail: "expired" }],
    "POST /api/auth/refresh/": () => {
      access = "a2";
      return [200, { access: "a2", refresh: "r2" }];
    },
  });
  const session = new Session(fetchFn, storage);
  session.keep({ access: "stale", refresh: "r1" });
  const [one, two] = await Promise.all([
    session.call("GET", "/api/restaurants/"),
    session.call("GET", "/api/restaurants/"),
  ]);
  assert.equal(one.status, 200);
  assert.equal(two.status, 200);
  assert.equal(calls.filter((c) => c.path === "/api/auth/refresh/").length, 1, "one refresh for both");
  assert.equal(new Session(fetchFn, storage).tokens.refresh, "r2");
});

test("a refused refresh ends the session; no answer keeps it", async () => {
  const storage = new MemoryKeyValue();
  const refused = scripted({
    "GET /x": () => [401, {}],
    "POST /api/auth/refresh/": () => [401, {}],
  });
  const session = new Session(refused.fetchFn, storage);
  session.keep({ access: "a", refresh: "r" });
  assert.equal((await session.call("GET", "/x")).status, 401);
  assert.equal(session.loggedIn, false);

  const offline = scripted({ "GET /x": () => [401, {}] });
  const kept = new Session(offline.fetchFn, storage);
  kept.keep({ access: "a", refresh: "r" });
  assert.equal((await kept.call("GET", "/x")).status, 0);
  assert.equal(kept.loggedIn, true, "a network drop is not a logout");
});
