// Bytes that arrived from a serial port and were not read yet: reads take what they ask for
// and leave the rest, so nothing a device sends is ever dropped.
const EMPTY = new Uint8Array(0);

export class ByteQueue {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }

  push(chunk) {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  compact() {
    if (this.chunks.length <= 1) return this.chunks[0] ?? EMPTY;
    const all = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    this.chunks = [all];
    return all;
  }

  take(n) {
    n = Math.min(n, this.length);
    if (n === 0) return new Uint8Array(0);
    const all = this.compact();
    const out = all.slice(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return out;
  }

  // Index just past the first occurrence of `terminator`, or -1.
  find(terminator) {
    if (this.length < terminator.length) return -1;
    const all = this.compact();
    outer: for (let i = 0; i + terminator.length <= all.length; i++) {
      for (let j = 0; j < terminator.length; j++) if (all[i + j] !== terminator[j]) continue outer;
      return i + terminator.length;
    }
    return -1;
  }

  clear() {
    const dropped = this.length;
    this.chunks = [];
    this.length = 0;
    return dropped;
  }
}
