"""Web bridge benchmark: round trip and throughput through worker -> page -> port -> emulator vs direct JS.

Run: .venv/bin/python tests/bench/bench_webbridge.py   (needs a built page: scripts/setup.py)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, open_with_emulated_devices  # noqa: E402
from tests.serving import running_server  # noqa: E402

ROUND_TRIPS = 500
BULK_BYTES = 4 * 1024 * 1024

DIRECT_JS = """async ({n, bulk}) => {
  // the same emulated port, driven straight from JS (what a page without the bridge would do)
  const port = labwrightEmulators.addSerial(new labwrightInstruments.Echo(), {usbVendorId: 1, usbProductId: 1});
  await port.open({baudRate: 115200});
  const reader = port.readable.getReader(), writer = port.writable.getWriter();
  const one = Uint8Array.of(0x55);
  let t = performance.now();
  for (let i = 0; i < n; i++) { await writer.write(one); await reader.read(); }
  const rt = (performance.now() - t) / n;
  const block = new Uint8Array(bulk);
  t = performance.now();
  await writer.write(block);
  let got = 0; while (got < bulk) got += (await reader.read()).value.length;
  const mbps = bulk / 1e6 / ((performance.now() - t) / 1000);
  reader.releaseLock(); writer.releaseLock(); await port.close(); port.unplug();
  return {rt, mbps};
}"""

BRIDGE_PY = """
import time
from pylabrobot.io.serial import Serial
io = Serial(human_readable_device_name="echo", vid=2, pid=2, timeout=5, write_timeout=5)
await io.setup()
for _ in range(20):
    await io.write(b"U"); await io.read(1)
t = time.perf_counter()
for _ in range({n}):
    await io.write(b"U"); await io.read(1)
rt = (time.perf_counter() - t) / {n} * 1000
block = bytes({bulk})
t = time.perf_counter()
await io.write(block)
data = await io.read({bulk})
mbps = len(data) / 1e6 / (time.perf_counter() - t)
await io.stop()
(rt, mbps)
"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    with running_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = open_with_emulated_devices(browser.new_context(), url)
        direct = page.evaluate(DIRECT_JS, {"n": ROUND_TRIPS, "bulk": BULK_BYTES})
        page.evaluate("() => labwrightEmulators.addSerial(new labwrightInstruments.Echo(), {usbVendorId: 2, usbProductId: 2})")
        bridge_rt, bridge_mbps = eval(
            page.evaluate("(code) => labwright.runPython(code)", BRIDGE_PY.format(n=ROUND_TRIPS, bulk=BULK_BYTES))
        )
        browser.close()
    result = {
        "round_trip_ms": {"direct_js": round(direct["rt"], 4), "bridge": round(bridge_rt, 4),
                          "overhead": round(bridge_rt - direct["rt"], 4),
                          "ratio": round(bridge_rt / direct["rt"], 1)},
        "throughput_MB_s": {"direct_js": round(direct["mbps"], 1), "bridge": round(bridge_mbps, 1),
                            "ratio": round(bridge_mbps / direct["mbps"], 2)},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
