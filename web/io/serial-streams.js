// Reading and writing a port with the SerialPort surface (Web Serial, FTDI over WebUSB, a remote
// port): the readable stream is read into the device's byte queue until the port closes or is
// lost; the writer stays held while the port is open.

// Keep reading the port into the queue. Non-fatal line errors (parity, framing, break, overrun)
// end one readable stream; the port then offers a new one.
export function startSerialIO(device) {
  const port = device.target;
  device.writer = port.writable.getWriter();
  device.reading = (async () => {
    while (!device.closed && !device.lostReason && port.readable) {
      const reader = port.readable.getReader();
      device.reader = reader;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (value?.length) {
            device.queue.push(value);
            device.notify();
          }
        }
      } catch (err) {
        if (err?.name === "NetworkError") device.lose("was disconnected (the device was lost)");
        else device.lineError = `${err?.name}: ${err?.message}`;
      } finally {
        try {
          reader.releaseLock();
        } catch {}
        device.reader = null;
      }
      if (device.stopping) break;
    }
  })();
}

// Stop reading and let go of the writer; `close`: close the port too (the handle closes, or the
// port reopens with other settings).
export async function stopSerialIO(device, { close }) {
  device.stopping = true;
  try {
    await device.reader?.cancel();
  } catch {}
  await device.reading?.catch(() => {});
  try {
    device.writer?.releaseLock();
  } catch {}
  device.writer = null;
  device.stopping = false;
  if (close) {
    if (device.closed) device.removeListener?.();
    await device.target.close().catch(() => {});
  }
}
