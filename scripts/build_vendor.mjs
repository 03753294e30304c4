// Bundle the browser libraries the page uses (pinned in package.json, installed by `npm ci`) into
// web/vendor/, served from the page's own origin: no CDN at run time. Called by scripts/setup.py.
//   node scripts/build_vendor.mjs <out-dir>
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = process.argv[2] ?? path.join(ROOT, "web", "vendor");

await build({
  entryPoints: { codemirror: path.join(ROOT, "scripts", "vendor", "codemirror.js") },
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2022",
  outdir: out,
  legalComments: "eof",
  logLevel: "warning",
});
console.log(`[vendor] bundled into ${path.relative(ROOT, out)}`);
