// The page's database as SQLite pages: the image assembled from stored pages, the pages of a save.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assemblePages, pagesOf } from "../../web/worker/page-store.js";

const page = (size, fill) => new Uint8Array(size).fill(fill);

test("the image is the pages in index order, whatever order the store lists them in", () => {
  const meta = { pageSize: 4, pageCount: 3 };
  const image = assemblePages(meta, [2, 0, 1], [page(4, 3), page(4, 1), page(4, 2)]);
  assert.deepEqual([...image], [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
});

test("pages past the end of a database that shrank are left out", () => {
  const image = assemblePages({ pageSize: 2, pageCount: 1 }, [0, 1, 5], [page(2, 7), page(2, 8), page(2, 9)]);
  assert.deepEqual([...image], [7, 7]);
});

test("a missing or damaged page is an error, never a database with a hole in it", () => {
  assert.throws(() => assemblePages({ pageSize: 2, pageCount: 3 }, [0, 2], [page(2, 1), page(2, 3)]), /incomplete: 1 of 3 pages are missing/);
  assert.throws(() => assemblePages({ pageSize: 4, pageCount: 1 }, [0], [page(2, 1)]), /page 0 has 2 bytes, not 4/);
});

test("a save's blob is cut into its pages, each a copy of its own", () => {
  const blob = Uint8Array.of(1, 1, 2, 2, 3, 3);
  const pages = pagesOf({ page_size: 2, pages: [4, 0, 9] }, blob);
  assert.deepEqual(pages.map(([index, bytes]) => [index, [...bytes]]), [[4, [1, 1]], [0, [2, 2]], [9, [3, 3]]]);
  blob[0] = 0;
  assert.equal(pages[0][1][0], 1);
  assert.throws(() => pagesOf({ page_size: 4, pages: [0, 1] }, blob), /2 pages of 4 bytes came with 6 bytes/);
  // and back: the pages of a whole save assemble to the same image
  const whole = pagesOf({ page_size: 2, pages: [0, 1, 2] }, Uint8Array.of(5, 5, 6, 6, 7, 7));
  assert.deepEqual([...assemblePages({ pageSize: 2, pageCount: 3 }, whole.map(([i]) => i), whole.map(([, p]) => p))], [5, 5, 6, 6, 7, 7]);
});
