// The bridge server's token: `labwright serve` prints the page's URL with `#token=...`
// (as Jupyter does); null when the page was opened without one (a static host).
export function tokenFromFragment() {
  return new URLSearchParams(globalThis.location?.hash?.slice(1) ?? "").get("token");
}
