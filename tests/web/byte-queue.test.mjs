// The serial byte queue: reads take what they ask for and leave the rest; nothing is dropped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteQueue } from "../../web/io/byte-queue.js";

const bytes = (text) => new TextEncoder().encode(text);
const text = (data) => new TextDecoder().decode(data);

test("take returns what was asked for, in order, across chunks, and keeps the rest", () => {
  const queue = new ByteQueue();
  queue.push(bytes("S S "));
  queue.push(bytes(""));
  queue.push(bytes("  12.34 g\r\nS"));
  assert.equal(queue.length, 16);
  assert.equal(text(queue.take(4)), "S S ");
  assert.equal(text(queue.take(100)), "  12.34 g\r\nS");
  assert.equal(queue.length, 0);
  assert.deepEqual(queue.take(3), new Uint8Array(0));
});

test("find gives the index just past a terminator split over two chunks, or -1", () => {
  const queue = new ByteQueue();
  queue.push(bytes("I4 A \"B111\"\r"));
  assert.equal(queue.find(bytes("\r\n")), -1);
  queue.push(bytes("\nnext"));
  const end = queue.find(bytes("\r\n"));
  assert.equal(end, 13);
  assert.equal(text(queue.take(end)), "I4 A \"B111\"\r\n");
  assert.equal(text(queue.take(queue.length)), "next");
  assert.equal(new ByteQueue().find(bytes("\n")), -1);
});

test("a taken slice is a copy: later pushes and takes never change it", () => {
  const queue = new ByteQueue();
  const chunk = Uint8Array.of(1, 2, 3, 4);
  queue.push(chunk);
  const first = queue.take(2);
  queue.push(Uint8Array.of(5));
  assert.deepEqual([...first], [1, 2]);
  assert.deepEqual([...queue.take(3)], [3, 4, 5]);
  assert.equal(first.byteOffset, 0); // transferable to the worker as a whole buffer
});

test("clear drops what was not read and says how much", () => {
  const queue = new ByteQueue();
  queue.push(bytes("abc"));
  queue.push(bytes("de"));
  assert.equal(queue.clear(), 5);
  assert.equal(queue.length, 0);
  assert.equal(queue.find(bytes("a")), -1);
});
