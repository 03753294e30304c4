// Where the page's database is kept between loads: SQLite pages in IndexedDB, written by the
// worker after each request that changed any, in one transaction (all of a save or none).
//
//   IndexedDB "labwright-data" v1
//     pages   key: page index -> Uint8Array (one SQLite page)
//     meta    key: "database" -> {pageSize, pageCount, generation, savedAt}
//     backups key: "import"   -> {image: Uint8Array, label, savedAt}  (the database an import replaced)
//
// Before this store existed the database was a file in Emscripten's IDBFS ("/data"); a browser
// that still has one gets it moved here once (legacyImage).
const NAME = "labwright-data";
const VERSION = 1;
const META_KEY = "database";
const BACKUP_KEY = "import";
const LEGACY_DB = "/data";
const LEGACY_STORE = "FILE_DATA";
const LEGACY_FILE = "/data/labwright.sqlite";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("IndexedDB request failed"));
  });
}

function done(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB transaction aborted"));
    transaction.onerror = () => reject(transaction.error ?? new Error("IndexedDB transaction failed"));
  });
}

// The database image from its saved pages: `meta` {pageSize, pageCount}, the store's keys (page
// indexes) and values (pages) in the same order. Pages past the end (a database that shrank
// before a write removed them) are left out; a missing page is an error, never a hole of zeros.
export function assemblePages(meta, keys, values) {
  const image = new Uint8Array(meta.pageSize * meta.pageCount);
  const seen = new Set();
  keys.forEach((index, i) => {
    if (index < meta.pageCount) {
      if (values[i].length !== meta.pageSize) throw new Error(`the saved database is damaged: page ${index} has ${values[i].length} bytes, not ${meta.pageSize}`);
      image.set(values[i], index * meta.pageSize);
      seen.add(index);
    }
  });
  if (seen.size !== meta.pageCount) {
    throw new Error(`the saved database is incomplete: ${meta.pageCount - seen.size} of ${meta.pageCount} pages are missing`);
  }
  return image;
}

// The pages of one save as [index, bytes]: `meta` {page_size, pages: [index...]} from Python,
// `blob` those pages back to back.
export function pagesOf(meta, blob) {
  if (blob.length !== meta.pages.length * meta.page_size) {
    throw new Error(`a save of ${meta.pages.length} pages of ${meta.page_size} bytes came with ${blob.length} bytes`);
  }
  return meta.pages.map((index, i) => [index, blob.slice(i * meta.page_size, (i + 1) * meta.page_size)]);
}

export class PageStore {
  // `idb` is the IndexedDB factory (the worker keeps its own reference: Python's `js` can't reach it).
  static async open(idb) {
    const opening = idb.open(NAME, VERSION);
    opening.onupgradeneeded = () => {
      const db = opening.result;
      for (const store of ["pages", "meta", "backups"]) if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
    };
    const db = await request(opening);
    return new PageStore(db, idb);
  }

  constructor(db, idb) {
    this.idb = idb;
    this.use(db);
  }

  use(db) {
    this.db = db;
    this.lost = false;
    // The browser closed the connection (site data cleared, storage evicted): the write in
    // flight fails, and the next one opens the store again.
    db.onclose = () => (this.lost = true);
  }

  async connection() {
    if (this.lost) this.use((await PageStore.open(this.idb)).db);
    return this.db;
  }

  // Whether the connection was lost since the last write (the store may be empty now).
  get reset() {
    return this.lost;
  }

  // The saved database as one image, or null if none was saved yet.
  async load() {
    const transaction = this.db.transaction(["pages", "meta"], "readonly");
    const meta = await request(transaction.objectStore("meta").get(META_KEY));
    if (!meta) return null;
    const keys = await request(transaction.objectStore("pages").getAllKeys());
    const values = await request(transaction.objectStore("pages").getAll());
    return assemblePages(meta, keys, values);
  }

  // Write the changed pages of one save: `meta` {generation, page_size, page_count, pages: [index...]},
  // `blob` those pages back to back. Resolves once IndexedDB has committed all of it.
  async write(meta, blob) {
    const changed = pagesOf(meta, blob);
    const db = await this.connection();
    const transaction = db.transaction(["pages", "meta"], "readwrite", { durability: "strict" });
    const pages = transaction.objectStore("pages");
    for (const [index, page] of changed) pages.put(page, index);
    pages.delete(IDBKeyRange.lowerBound(meta.page_count)); // a database that shrank
    transaction.objectStore("meta").put(
      { pageSize: meta.page_size, pageCount: meta.page_count, generation: meta.generation, savedAt: new Date().toISOString() },
      META_KEY,
    );
    await done(transaction);
  }

  async putBackup(image, label) {
    const transaction = (await this.connection()).transaction(["backups"], "readwrite", { durability: "strict" });
    transaction.objectStore("backups").put({ image, label, savedAt: new Date().toISOString() }, BACKUP_KEY);
    await done(transaction);
  }

  async getBackup() {
    const transaction = (await this.connection()).transaction(["backups"], "readonly");
    return (await request(transaction.objectStore("backups").get(BACKUP_KEY))) ?? null;
  }

  async clearBackup() {
    const transaction = (await this.connection()).transaction(["backups"], "readwrite");
    transaction.objectStore("backups").delete(BACKUP_KEY);
    await done(transaction);
  }

  // The database file an older Labwright kept in IDBFS, if this browser has one (read, not removed).
  async legacyImage() {
    const databases = (await this.idb.databases?.()) ?? null;
    if (databases && !databases.some((entry) => entry.name === LEGACY_DB)) return null;
    let db;
    try {
      db = await request(this.idb.open(LEGACY_DB));
    } catch {
      return null;
    }
    try {
      if (!db.objectStoreNames.contains(LEGACY_STORE)) return null;
      const entry = await request(db.transaction([LEGACY_STORE], "readonly").objectStore(LEGACY_STORE).get(LEGACY_FILE));
      return entry?.contents ? new Uint8Array(entry.contents) : null;
    } finally {
      db.close();
    }
  }
}
