// The page's device broker: the one owner of each device, and the grants that let Python reach it.
//
// A grant is an opaque token for one holder: the console ("console": the REPL, runPython and the
// device picker), or a hardware run ("run 3fa2c1"). Every device has exactly one holder at a
// time; the port manager serves an IO request only if its grant holds the device (opens) or
// opened the handle (every other operation). Python without a grant (a simulation, a plan, an
// estimate) is refused.
//
// Hand-over is explicit and goes through `handOver`:
//   - the console holds every device the user granted the page (the browser's chooser is that
//     explicit act) unless it released it or someone else holds it;
//   - a hardware run asks for the devices its backends name: the console lets go of them
//     cleanly first (its backend there is stopped with PLR's stop), and gets each back when the
//     run's grant ends (the backend is set up again);
//   - a device a run holds is refused to anyone else, with who holds it and until when ("held
//     by run 12 — it ends in ~3 min"), unless the caller asks to take it over: then the run is
//     stopped cleanly first (cancelled, its machines stopped) and the device passes on.
// What a holder does to let go or to take a device back is the holder's own (its hooks):
// `yieldDevice(device)` stops what it runs on the device, `restoreDevice(device)` sets it up
// again, `stop()` ends the holder (a run: cancel it and wait until it has ended).
import { ERRORS, IOError } from "./io-protocol.js";

// What a device released by the console goes back to when the run that asked for it ends: nobody.
const RELEASED = "released";

function newToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// "~3 min", "~40 s": how long until `ms` from now, for people.
export function inWords(ms) {
  if (ms <= 0) return "any moment now";
  const seconds = Math.round(ms / 1000);
  if (seconds < 90) return `~${Math.max(seconds, 1)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `~${minutes} min`;
  return `~${Math.round(minutes / 60)} h`;
}

export class DeviceBroker {
  constructor({ now = () => Date.now() } = {}) {
    this.now = now;
    this.grants = new Map(); // token -> grant {token, holder, kind, since, expectedEnd, hooks}
    this.owners = new Map(); // device name -> token
    this.lent = new Map(); // device name -> token it goes back to when the borrower's grant ends
    this.released = new Set(); // devices the console let go of: nobody holds them
    this.handles = new Map(); // open handle -> token that opened it
    this.fallback = null; // the grant that holds every device nobody else holds (the console's)
    this.listeners = new Set();
  }

  // `grant` holds every device no other grant holds (and that it did not release).
  holdsTheRest(grant) {
    this.fallback = grant.token;
  }

  ownerOf(device) {
    if (this.owners.has(device)) return this.owners.get(device);
    return this.released.has(device) ? null : this.fallback;
  }

  // fn({device, holder, detail, ...news}) whenever a device changes hands (holder null: nobody
  // holds it); `detail` is describe(device); `news` what a holder reports of it (`restored`: its
  // backend is set up again after a run gave it back, or `restoreError`).
  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(device, news = {}) {
    const detail = this.describe(device);
    for (const listener of this.listeners) listener({ device, holder: detail.holder, detail, ...news });
  }

  // A new grant for `holder`; `{token, holder}` is what travels with the holder's requests.
  // `kind`: "console" (a session: gives its devices to runs and takes them back) or "run"
  // (holds its devices until it ends; taken over only by stopping it). `hooks`: see the top.
  grant(holder, { kind = "console", ...hooks } = {}) {
    const grant = { token: newToken(), holder, kind, since: this.now(), expectedEnd: null, hooks };
    // The hooks stay off the token's JSON: only {token, holder, ...} travels to the worker.
    Object.defineProperty(grant, "hooks", { enumerable: false, value: hooks, writable: true });
    this.grants.set(grant.token, grant);
    return grant;
  }

  // The grant's holder is named anew (a run learns its id) or says when it should end.
  update(grant, { holder, expectedEnd, hooks } = {}) {
    if (holder !== undefined) grant.holder = holder;
    if (expectedEnd !== undefined) grant.expectedEnd = expectedEnd;
    if (hooks) Object.assign(grant.hooks, hooks);
    for (const device of this.devicesOf(grant)) this.changed(device);
  }

  holderOf(device) {
    const token = this.ownerOf(device);
    return token ? this.grants.get(token)?.holder ?? null : null;
  }

  // Who holds `device`, for people and the picker: {holder, kind, since, expectedEnd, lentBy,
  // text} where text is "held by run 12 — it ends in ~3 min" (or "held by console", "free").
  describe(device) {
    const token = this.ownerOf(device);
    const grant = token ? this.grants.get(token) : null;
    if (!grant) return { holder: null, kind: null, since: null, expectedEnd: null, lentBy: null, text: this.released.has(device) ? "released: nobody holds it" : "free" };
    const lender = this.grants.get(this.lent.get(device) ?? "")?.holder ?? null;
    let text = `held by ${grant.holder}`;
    if (grant.kind === "run") {
      if (grant.expectedEnd) text += ` — it ends in ${inWords(grant.expectedEnd - this.now())}`;
      else text += ` — running for ${inWords(this.now() - grant.since).replace("~", "")}`;
    }
    return { holder: grant.holder, kind: grant.kind, since: grant.since, expectedEnd: grant.expectedEnd, lentBy: lender, text };
  }

  devicesOf(grant) {
    return [...this.owners].filter(([, token]) => token === grant.token).map(([device]) => device);
  }

  check(grant) {
    if (!this.grants.has(grant.token)) throw new IOError(ERRORS.accessDenied, `the grant of ${grant.holder} is no longer valid (its run or session ended)`);
  }

  // `grant` holds `device` from now on, handed over explicitly:
  //   - held by `grant` already, or by nobody: it just takes it;
  //   - held by a session (the console): the session lets go cleanly (yieldDevice) and gets it
  //     back when `grant` ends;
  //   - held by a run: refused with who holds it and until when, unless `takeOver`: the run is
  //     stopped cleanly first, then the device passes on as above.
  async handOver(device, grant, { takeOver = false } = {}) {
    this.check(grant);
    let current = this.ownerOf(device);
    if (current === grant.token) return this.describe(device);
    let holder = current ? this.grants.get(current) : null;
    if (holder?.kind === "run") {
      if (!takeOver) {
        const error = new IOError(ERRORS.accessDenied, `${device} is ${this.describe(device).text}; take it over to stop that run first`);
        error.holder = this.describe(device);
        throw error;
      }
      await holder.hooks.stop?.();
      // A stopped run's grant has ended and given the device back; one that would not stop keeps it.
      if (this.grants.has(current) && this.ownerOf(device) === current) {
        throw new IOError(ERRORS.accessDenied, `${device}: ${holder.holder} did not stop; the device stays with it`);
      }
      this.check(grant);
      current = this.ownerOf(device);
      if (current === grant.token) return this.describe(device);
      holder = current ? this.grants.get(current) : null;
    }
    if (holder) {
      await holder.hooks.yieldDevice?.(device);
      this.lent.set(device, current);
    } else if (this.released.has(device)) {
      this.lent.set(device, RELEASED);
    }
    this.released.delete(device);
    this.owners.set(device, grant.token);
    this.changed(device);
    return this.describe(device);
  }

  // `grant` lets go of `device`: it goes back to whoever lent it (and is set up there again), or,
  // when the console lets go, nobody holds it until someone asks for it. Returns the hooks to run
  // once the device's handles are closed (the port manager closes them first).
  letGo(grant, device) {
    if (this.ownerOf(device) !== grant.token) return null;
    const lender = this.lent.get(device);
    this.lent.delete(device);
    this.owners.delete(device);
    const back = lender && this.grants.has(lender) ? this.grants.get(lender) : null;
    if (back) {
      if (back.token !== this.fallback) this.owners.set(device, back.token);
    } else if (grant.token === this.fallback || lender === RELEASED) {
      this.released.add(device);
    }
    this.changed(device);
    return back ? () => back.hooks.restoreDevice?.(device) : null;
  }

  // The grant ends: its devices go back to whoever lent them; returns {handles, restore}: the
  // handles it opened (the port manager closes them) and the lenders' restores to run after.
  revoke(grant) {
    const restore = [];
    for (const device of this.devicesOf(grant)) {
      const back = this.letGo(grant, device);
      if (back) restore.push(back);
    }
    this.grants.delete(grant.token);
    const handles = [...this.handles].filter(([, token]) => token === grant.token).map(([handle]) => handle);
    return { handles, restore };
  }

  denied(op, device, reason) {
    return new IOError(ERRORS.accessDenied, `${op}: ${device}: access denied: ${reason}`);
  }

  // An open of `device` under `token`: allowed only if that grant holds the device.
  authorizeOpen(op, token, device) {
    const grant = token ? this.grants.get(token) : null;
    if (!grant) {
      throw this.denied(op, device, token ? "the grant was revoked (its run or session ended)" : "the request carries no hardware grant");
    }
    const owner = this.ownerOf(device);
    if (owner !== token) {
      if (owner) throw this.denied(op, device, `it is ${this.describe(device).text}, not ${grant.holder}`);
      throw this.denied(op, device, this.released.has(device)
        ? `${grant.holder} released it (labwright.devices.hold takes it back)`
        : `${grant.holder} does not hold it (connect it in 'Connect a device' or name it in the run)`);
    }
    return grant;
  }

  // Any other operation on an open handle: only the grant that opened it.
  authorizeHandle(op, token, handle, device) {
    const opener = this.handles.get(handle);
    if (opener === undefined) return; // not open: the port manager says so in its own words
    if (!token || token !== opener) {
      throw this.denied(op, device ?? `handle ${handle}`, token ? "this handle was opened under another grant" : "the request carries no hardware grant");
    }
    if (!this.grants.has(token)) throw this.denied(op, device ?? `handle ${handle}`, "the grant was revoked");
  }

  opened(handle, token) {
    this.handles.set(handle, token);
  }

  closed(handle) {
    this.handles.delete(handle);
  }

  // Handles `grant` has open on `device` (given the port manager's handle -> device name).
  handlesOn(grant, device, nameOf) {
    return [...this.handles].filter(([handle, token]) => token === grant.token && nameOf(handle) === device).map(([handle]) => handle);
  }
}
