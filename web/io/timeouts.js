// Operations on a device that must not hang Python: each races its own timeout.
import { ERRORS, IOError } from "./io-protocol.js";

// Race `promise` against `ms` (null: no limit); the loser is not cancelled, callers that must
// not lose data (USB transferIn) keep the promise themselves.
export function withTimeout(promise, ms, what) {
  if (ms === null || ms === undefined) return promise;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new IOError(ERRORS.timeout, `${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
