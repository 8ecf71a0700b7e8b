// The outbox's store in the browser: one IndexedDB object store keyed by the action's key, so
// queued actions survive a reload or a crash of the tab. No service worker is needed for this
// (DESIGN.md, "A screen that never lies").

const DB_NAME = "kitchen-display";
const STORE = "outbox";

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** @returns {Promise<import("../lib/outbox.js").Store>} */
export async function openIdbStore() {
  const open = indexedDB.open(DB_NAME, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "key" });
  const db = await promised(open);
  const run = (mode, work) =>
    new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  return {
    put: (action) => run("readwrite", (store) => store.put(action)),
    delete: (key) => run("readwrite", (store) => store.delete(key)),
    all: () => run("readonly", (store) => store.getAll()),
  };
}
