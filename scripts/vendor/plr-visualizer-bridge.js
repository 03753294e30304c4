// PLR's own visualizer (pylabrobot/visualizer: lib.js + vis.js, unchanged) talks to its Python
// server over a WebSocket. In Labwright it runs in a frame of the page, fed by the page's deck
// view: this stands in for that WebSocket and carries the very same messages over postMessage
// with the parent page (same origin only). Loaded before vis.js by the index.html set-up writes.
(() => {
  const origin = location.origin;
  // PLR's page loads gif.worker.js (its GIF recorder's worker) as a plain script too, which sets
  // this window's onmessage to its frame encoder: harmless over a WebSocket, but here every
  // message the page posts (each step's states) was encoded as a GIF frame on the main thread
  // (seconds of work while scrubbing a run). The recorder starts its own Worker from that file.
  if (self.onmessage) self.onmessage = null;

  class FramedSocket extends EventTarget {
    constructor(url) {
      super();
      this.url = url;
      this.readyState = FramedSocket.CONNECTING;
      for (const type of ["open", "close", "error", "message"]) {
        this.addEventListener(type, (event) => this[`on${type}`]?.(event));
      }
      window.addEventListener("message", (event) => {
        if (event.origin !== origin || event.source !== window.parent) return;
        const message = event.data?.labwrightVisualizer;
        if (typeof message === "string") this.dispatchEvent(new MessageEvent("message", { data: message }));
      });
      setTimeout(() => {
        this.readyState = FramedSocket.OPEN;
        this.dispatchEvent(new Event("open"));
      });
    }

    send(text) {
      window.parent.postMessage({ labwrightVisualizerReply: String(text) }, origin);
    }

    close() {
      this.readyState = FramedSocket.CLOSED;
    }
  }
  Object.assign(FramedSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  window.WebSocket = FramedSocket;
})();

// Framed in Labwright's page, PLR's page keeps its canvas, tools and resource tree (closed at
// first: its own button on the right opens it), and gives up its navbar (name, connection
// status: Labwright's page says those) to the deck.
if (window.parent !== window) {
  const style = document.createElement("style");
  style.textContent = "nav.navbar { display: none !important; } body { padding-top: 0 !important; }"
    + " .content { height: 100vh !important; }";
  document.documentElement.append(style);
  window.addEventListener("load", () => setTimeout(() => {
    const tree = document.getElementById("toolbar-tree-btn");
    if (tree?.classList.contains("active")) tree.click();
    window.dispatchEvent(new Event("resize"));
  }, 0));
}

// Hovering a well or a tip spot says what PLR's own label leaves out: its volume (of its maximum)
// or whether it holds a tip, as a person checking a deck wants to see without opening a panel
// (PLR's double-click panel still lists every attribute). Set after PLR's classes are loaded.
window.addEventListener("load", () => {
  const volume = (value) => (typeof formatVolume === "function" ? formatVolume(value) : String(value));
  if (typeof Container === "function") {
    Container.prototype.tooltipLabel = function label() {
      return `${this.name}: ${volume(this.volume ?? 0)} of ${volume(this.maxVolume ?? "?")} µL`;
    };
  }
  if (typeof TipSpot === "function") {
    TipSpot.prototype.tooltipLabel = function label() {
      return `${this.name}: ${this.has_tip ? "tip" : "no tip"}`;
    };
  }
});
