// Unpacking the page's archives (zip files set-up writes, one per wheel) straight into Pyodide's
// file system from JS: the central directory is read once and each file written with FS.writeFile.
// Python's zipfile (what pyodide.unpackArchive uses) took most of the time between "ready" and a
// usable page (3,651 files, 29 MB); stored entries are copied as they are, deflated ones go
// through the platform's DecompressionStream.

const EOCD = 0x06054b50; // end of central directory
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export class ZipError extends Error {}

// Every entry of `bytes` (a Uint8Array holding a zip): {name, method, data (still compressed)}.
export function zipEntries(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 65535); at--) {
    if (view.getUint32(at, true) === EOCD) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new ZipError("not a zip file (no end of central directory)");
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const decoder = new TextDecoder();
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== CENTRAL) throw new ZipError(`entry ${i}: bad central directory record`);
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    if (view.getUint32(local, true) !== LOCAL) throw new ZipError(`${name}: bad local header`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + size > bytes.length) throw new ZipError(`${name}: data runs past the end of the file`);
    if (name.split("/").includes("..") || name.startsWith("/")) throw new ZipError(`${name}: a path outside the archive`);
    entries.push({ name, method, data: bytes.subarray(start, start + size) });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

async function inflate(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// Write every file of the zip `bytes` under `dir` in the Emscripten file system `FS`.
// In Emscripten's in-memory file system (MEMFS, where site-packages is) each file is made as a
// node of its directory holding a view of the archive's bytes: no copy, and no path walked per
// file (FS.writeFile resolved each path and copied each file: ~70 µs a file, 3,651 files).
export async function unpackZip(FS, bytes, dir) {
  const MEMFS = FS.filesystems?.MEMFS;
  const dirs = new Map(); // path -> directory node
  const directory = (path) => {
    let node = dirs.get(path);
    if (!node) {
      FS.mkdirTree(path);
      node = MEMFS ? FS.lookupPath(path).node : {};
      dirs.set(path, node);
    }
    return node;
  };
  let files = 0;
  for (const entry of zipEntries(bytes)) {
    const path = `${dir}/${entry.name}`;
    if (entry.name.endsWith("/")) {
      directory(path.slice(0, -1));
      continue;
    }
    const cut = path.lastIndexOf("/");
    const parent = directory(path.slice(0, cut));
    const name = path.slice(cut + 1);
    let data;
    if (entry.method === 0) data = entry.data;
    else if (entry.method === 8) data = await inflate(entry.data);
    else throw new ZipError(`${entry.name}: compression method ${entry.method} is not supported`);
    if (MEMFS && parent.node_ops?.mknod === MEMFS.node_ops.mknod && !(name in parent.contents)) {
      const node = MEMFS.createNode(parent, name, 0o100644, 0);
      node.contents = data; // a view: MEMFS reallocates a file that grows (it may write in place otherwise)
      node.usedBytes = data.length;
    } else {
      FS.writeFile(path, data); // another file system, or a file already there
    }
    files += 1;
  }
  return files;
}
