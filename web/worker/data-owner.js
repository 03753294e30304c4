// One writer for the page's database across the tabs of a browser profile: the worker that holds
// the Web Lock owns the data; another tab's worker waits, says so, and can ask for it (the
// owner saves, closes its data and lets go; a tab that does not answer loses it after a while).
const LOCK = "labwright-data";
const CHANNEL = "labwright-data";

export class DataOwnership {
  constructor(locks, { Channel = globalThis.BroadcastChannel } = {}) {
    this.locks = locks;
    this.channel = Channel ? new Channel(CHANNEL) : null;
    this.releaseLock = null; // resolves the promise that keeps the lock held
    this.onRequested = null; // async () => void: save and close before letting go
    this.onLost = null; // the lock was taken from us (steal)
    this.channel?.addEventListener("message", (event) => {
      if (event.data?.type === "release-request" && this.releaseLock) this.handOver();
    });
  }

  get held() {
    return this.releaseLock !== null;
  }

  // Hold the lock once it is granted; resolves true when held, false when `signal` aborted first.
  acquire(options = {}) {
    return new Promise((resolve, reject) => {
      this.locks
        .request(LOCK, options, (lock) => {
          if (!lock) {
            resolve(false);
            return undefined;
          }
          return new Promise((release) => {
            this.releaseLock = release;
            resolve(true);
          });
        })
        .then(
          () => {},
          (err) => {
            // Given up waiting (AbortSignal.timeout aborts with a TimeoutError).
            if ((err?.name === "AbortError" || err?.name === "TimeoutError") && !this.releaseLock) return resolve(false);
            // Stolen by another tab (steal: true): the data is not ours any more.
            if (this.releaseLock) {
              this.releaseLock = null;
              this.onLost?.();
            } else reject(err);
          },
        );
    });
  }

  // Try for the data: at once, else after `waitMs` (a tab being reloaded lets go a moment later).
  async claim({ waitMs = 2000 } = {}) {
    if (await this.acquire({ ifAvailable: true })) return true;
    const signal = AbortSignal.timeout(waitMs);
    return this.acquire({ signal });
  }

  // Ask the owner to hand the data over; take it anyway after `patienceMs` (a frozen tab).
  async takeOver({ patienceMs = 5000 } = {}) {
    this.channel?.postMessage({ type: "release-request" });
    if (await this.acquire({ signal: AbortSignal.timeout(patienceMs) })) return true;
    return this.acquire({ steal: true });
  }

  async handOver() {
    try {
      await this.onRequested?.();
    } finally {
      this.letGo();
    }
  }

  letGo() {
    const release = this.releaseLock;
    this.releaseLock = null;
    release?.();
  }
}
