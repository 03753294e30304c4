// The page's device broker: who holds each device, and the grants that let Python reach it.
//
// A grant is an opaque token for one holder ("console": the REPL, runPython and the device
// picker; "run 3fa2c1": a hardware run). The console holds every device the user granted the
// page (the browser's chooser is that explicit act) unless a run has borrowed it; every device
// has at most one holder at a time; the port manager
// serves an IO request only if its grant holds the device (opens) or opened the handle (every
// other operation). Python without a grant (a simulation, a plan, an estimate) is refused.
// A hardware run borrows its devices and gives them back to their holder when it ends.
import { ERRORS, IOError } from "./io-protocol.js";

function newToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class DeviceBroker {
  constructor() {
    this.grants = new Map(); // token -> {token, holder}
    this.owners = new Map(); // device name -> token
    this.lent = new Map(); // device name -> token it goes back to when the borrower's grant ends
    this.handles = new Map(); // open handle -> token that opened it
    this.fallback = null; // the grant that holds every device nobody else holds (the console's)
    this.listeners = new Set();
  }

  // `grant` holds every device no other grant holds.
  holdsTheRest(grant) {
    this.fallback = grant.token;
  }

  ownerOf(device) {
    return this.owners.get(device) ?? this.fallback;
  }

  // fn({device, holder}) whenever a device changes hands (holder null: nobody holds it).
  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(device) {
    const holder = this.holderOf(device);
    for (const listener of this.listeners) listener({ device, holder });
  }

  // A new grant for `holder`; `{token, holder}` is what travels with the holder's requests.
  grant(holder) {
    const grant = { token: newToken(), holder };
    this.grants.set(grant.token, grant);
    return grant;
  }

  holderOf(device) {
    const token = this.ownerOf(device);
    return token ? this.grants.get(token)?.holder ?? null : null;
  }

  devicesOf(grant) {
    return [...this.owners].filter(([, token]) => token === grant.token).map(([device]) => device);
  }

  // `grant` holds `device` from now on. A device another holder has is refused, unless
  // `lend` (a run borrowing the console's device: it goes back when the run's grant ends).
  give(grant, device, { lend = false } = {}) {
    if (!this.grants.has(grant.token)) throw new Error(`grant of ${grant.holder} is no longer valid`);
    const current = this.ownerOf(device);
    if (current && current !== grant.token) {
      const holder = this.grants.get(current)?.holder ?? "someone";
      if (!lend) throw new IOError(ERRORS.accessDenied, `${device} is held by ${holder}`);
      this.lent.set(device, current);
    }
    this.owners.set(device, grant.token);
    this.changed(device);
  }

  // `grant` lets go of `device` (it goes back to the holder that lent it, if any).
  take(grant, device) {
    if (this.owners.get(device) !== grant.token) return;
    const lender = this.lent.get(device);
    this.lent.delete(device);
    if (lender && this.grants.has(lender)) this.owners.set(device, lender);
    else this.owners.delete(device);
    this.changed(device);
  }

  // The grant ends: its devices go back to whoever lent them; the handles it opened are returned
  // for the caller (the port manager) to close.
  revoke(grant) {
    for (const device of this.devicesOf(grant)) this.take(grant, device);
    this.grants.delete(grant.token);
    return [...this.handles].filter(([, token]) => token === grant.token).map(([handle]) => handle);
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
      const holder = owner ? this.grants.get(owner)?.holder : null;
      throw this.denied(op, device, holder ? `it is held by ${holder}, not ${grant.holder}` : `${grant.holder} does not hold it (connect it in 'Connect a device' or name it in the run)`);
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
}
