// The cook's session: tokens kept across reloads, refreshed when the access token runs out
// (keeping the new refresh token when the server rotates it), and every API call as
// `{status, body}` so callers decide on statuses, not exceptions. `fetch` and the storage are
// passed in, so this runs under Node's tests as in the page.

/** @typedef {{getItem(k: string): string|null, setItem(k: string, v: string): void,
 *   removeItem(k: string): void}} KeyValue */

const TOKENS = "kds.tokens";

export class Session {
  /** @param {typeof fetch} fetchFn @param {KeyValue} storage */
  constructor(fetchFn, storage) {
    this.fetch = fetchFn;
    this.storage = storage;
    /** @type {{access: string, refresh: string, email?: string}|null} */
    this.tokens = readJson(storage, TOKENS);
    /** Shared by concurrent callers: one refresh at a time. */
    this.refreshing = null;
    /** False while order-service gives no answer (or only a gateway's "unavailable"). */
    this.reachable = true;
  }

  get loggedIn() {
    return this.tokens !== null;
  }

  /** @returns {Promise<{status: number, body: any}>} */
  async login(email, password) {
    const answer = await this.call("POST", "/api/auth/login/", { email, password }, { auth: false });
    if (answer.status === 200) this.keep({ access: answer.body.access, refresh: answer.body.refresh, email });
    return answer;
  }

  async logout() {
    const refresh = this.tokens?.refresh;
    this.forget();
    // Best effort: the server forgets the refresh line; the screen forgets it either way.
    if (refresh) await this.call("POST", "/api/auth/logout/", { refresh }, { auth: false });
  }

  forget() {
    this.tokens = null;
    this.storage.removeItem(TOKENS);
  }

  keep(tokens) {
    this.tokens = tokens;
    this.storage.setItem(TOKENS, JSON.stringify(tokens));
  }

  /**
   * An API call with the access token; on 401, one refresh and one retry. A refresh refused
   * (401) ends the session: the caller shows the login.
   * @param {string} method @param {string} path @param {any} [body]
   * @param {{auth?: boolean, headers?: Record<string, string>}} [options]
   * @returns {Promise<{status: number, body: any}>} status 0: no answer (network down)
   */
  async call(method, path, body = null, { auth = true, headers = {} } = {}) {
    let answer = await this.send(method, path, body, auth, headers);
    if (answer.status === 401 && auth && this.tokens) {
      const refreshed = await this.refresh();
      if (refreshed === "ok") answer = await this.send(method, path, body, auth, headers);
      else if (refreshed === "no answer") answer = { status: 0, body: null };
    }
    return answer;
  }

  /** @returns {Promise<"ok"|"refused"|"no answer">} */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = this.refreshOnce().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async refreshOnce() {
    const presented = this.tokens?.refresh;
    if (!presented) return "refused";
    const answer = await this.send("POST", "/api/auth/refresh/", { refresh: presented }, false, {});
    if (answer.status === 200 && answer.body?.access) {
      // With rotation the answer carries the next refresh token; the one presented is spent.
      this.keep({ ...this.tokens, access: answer.body.access, refresh: answer.body.refresh ?? presented });
      return "ok";
    }
    if (answer.status === 401 || answer.status === 400) {
      this.forget();
      return "refused";
    }
    return "no answer";
  }

  async send(method, path, body, auth, headers) {
    const all = { ...headers };
    if (body !== null) all["Content-Type"] = "application/json";
    if (auth && this.tokens) all.Authorization = `Bearer ${this.tokens.access}`;
    let response;
    try {
      response = await this.fetch(path, {
        method,
        headers: all,
        body: body === null ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch {
      this.reachable = false;
      return { status: 0, body: null };
    }
    this.reachable = ![502, 503, 504].includes(response.status);
    let parsed = null;
    try {
      parsed = response.status === 204 ? null : await response.json();
    } catch {
      parsed = null;
    }
    return { status: response.status, body: parsed };
  }
}

function readJson(storage, key) {
  try {
    const value = JSON.parse(storage.getItem(key) ?? "null");
    return value && typeof value.access === "string" && typeof value.refresh === "string" ? value : null;
  } catch {
    return null;
  }
}

/** A plain-object storage, for tests. */
export class MemoryKeyValue {
  constructor() {
    this.map = new Map();
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}
