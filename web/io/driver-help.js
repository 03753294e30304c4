// When the browser cannot open a device: the likely cause and the fix for the OS at hand.
//
// Chrome reaches a USB device only through a driver it can use (WinUSB on Windows; on Linux and
// macOS none may be bound to the interface), a serial port only if no other program has it open,
// and any device node only if the user may open it. What Chrome says is terse ("Access denied.",
// "Unable to claim interface.", "Failed to open serial port."); this module turns it, with the
// device's ids and the OS, into what to do. The port manager puts it in the error Python raises
// (DeviceDriverError) and the picker shows it on the device's row.
import { hex4 } from "./bytes.js";

// "Windows" | "macOS" | "Linux" | "ChromeOS" | "Android" | "" from the browser (User-Agent Client
// Hints where there are any, else navigator.platform).
export function platformOf(nav = globalThis.navigator) {
  const named = nav?.userAgentData?.platform || nav?.platform || "";
  if (/^win/i.test(named)) return "Windows";
  if (/^mac/i.test(named)) return "macOS";
  if (/chrome ?os|cros/i.test(named)) return "ChromeOS";
  if (/android/i.test(named)) return "Android";
  if (/linux/i.test(named)) return "Linux";
  return named;
}

const udevRule = (subsystem, vid, pid) =>
  subsystem === "hidraw"
    ? `KERNEL=="hidraw*", ATTRS{idVendor}=="${hex4(vid)}", ATTRS{idProduct}=="${hex4(pid)}", TAG+="uaccess"`
    : `SUBSYSTEM=="usb", ATTRS{idVendor}=="${hex4(vid)}", ATTRS{idProduct}=="${hex4(pid)}", TAG+="uaccess"`;

const udevFix = (subsystem, vid, pid) =>
  `add a udev rule giving your user the device: put\n  ${udevRule(subsystem, vid, pid)}\n` +
  "in /etc/udev/rules.d/70-labwright.rules, run `sudo udevadm control --reload-rules && sudo udevadm trigger`, then unplug and replug it";

// {cause, fix} for a failed `step` ("open" | "claim") of a device over `api` ("serial" | "usb" |
// "hid"), or null when the failure is not one a driver or a permission explains.
export function driverHelp({ api, step = "open", error, vendorId = null, productId = null, ftdi = false, platform = platformOf() }) {
  const name = error?.name ?? "";
  const text = `${error?.message ?? ""}`;
  const id = vendorId == null ? "this device" : `${hex4(vendorId).toUpperCase()}:${hex4(productId).toUpperCase()}`;
  if (api === "usb") {
    const denied = name === "SecurityError" || /access denied/i.test(text);
    const claimed = step === "claim" || /claim interface/i.test(text);
    if (!denied && !claimed && name !== "NetworkError") return null;
    if (ftdi) {
      const unbind = {
        Windows: "replace its driver with WinUSB in Zadig (Options → List All Devices, choose the chip, WinUSB, Replace Driver)",
        Linux: "unbind ftdi_sio from it (`echo -n <bus>-<port>:1.0 | sudo tee /sys/bus/usb/drivers/ftdi_sio/unbind`; `lsusb -t` shows the numbers) or blacklist ftdi_sio",
        macOS: "unload the FTDI driver (`sudo kextunload -b com.apple.driver.AppleUSBFTDI`, or FTDI's own com.FTDI.driver.FTDIUSBSerialDriver)",
      }[platform] ?? "unbind the OS's FTDI serial driver from it";
      return {
        cause: `the OS's FTDI virtual COM port driver has claimed this FTDI chip (${id}); WebUSB can only drive a chip no driver holds`,
        fix: `use it as a serial port instead: grant it with "Serial port…" (Web Serial goes through that driver, nothing to install). To drive it over WebUSB, ${unbind}`,
      };
    }
    if (platform === "Windows") {
      return {
        cause: `Windows has a driver bound to ${id} that Chrome cannot open: WebUSB needs the WinUSB driver`,
        fix: `install WinUSB for it with Zadig (https://zadig.akeo.ie: Options → List All Devices, choose ${id}, WinUSB, Replace Driver), then unplug and replug it. ` +
          "PLR's installation guide suggests libusbK for Hamilton and other USB instruments: libusbK serves PyUSB on CPython but not Chrome; " +
          "WinUSB serves both (PyUSB and libusb use it too), so choose WinUSB",
      };
    }
    if (platform === "Linux" && denied) {
      return { cause: `your user may not open the USB device node of ${id} (/dev/bus/usb/…)`, fix: udevFix("usb", vendorId, productId) };
    }
    if (platform === "Linux") {
      return {
        cause: `a kernel driver is bound to ${id}'s interface, so Chrome cannot claim it`,
        fix: "unbind it (`ls /sys/bus/usb/devices/*/driver` shows which; `echo -n <bus>-<port>:1.0 | sudo tee /sys/bus/usb/drivers/<driver>/unbind`), or close the program that has the device open",
      };
    }
    if (platform === "macOS") {
      return { cause: `a macOS driver or another program holds ${id}`, fix: "quit the program using it (the vendor's software, another browser tab) and unplug and replug it; a kernel driver bound to it must be unloaded" };
    }
    return { cause: `the OS or another program holds ${id}`, fix: "close whatever uses it, then unplug and replug it" };
  }
  if (api === "serial") {
    if (name !== "NetworkError" && name !== "InvalidStateError" && !/failed to open/i.test(text)) return null;
    const other = "another program has the port open (the vendor's software, a terminal, another browser tab, the bridge server)";
    if (platform === "Linux") {
      return {
        cause: `${other}, or your user may not open /dev/ttyUSB*/ttyACM*`,
        fix: "close the other program; add your user to the dialout group (`sudo usermod -aG dialout $USER`, then log out and in) or give it the device with a udev rule:\n  " +
          udevRule("usb", vendorId, productId).replace('SUBSYSTEM=="usb"', 'SUBSYSTEM=="tty"'),
      };
    }
    return { cause: other, fix: platform === "Windows" ? "close the program holding the COM port, then try again (Device Manager shows the port)" : "close the other program, then try again" };
  }
  if (api === "hid") {
    if (name !== "NotAllowedError" && name !== "NetworkError" && name !== "SecurityError") return null;
    if (platform === "Linux") return { cause: `your user may not open ${id}'s hidraw node`, fix: udevFix("hidraw", vendorId, productId) };
    return { cause: `another program holds ${id}, or the OS reserves it (keyboards, mice)`, fix: "quit the program using it, then unplug and replug it" };
  }
  return null;
}

// The message of an error a driver or a permission explains: what failed, the likely cause, the fix.
export function explained(what, error, help) {
  const said = `${error?.message ?? error}`.replace(/\.$/, "");
  return `${what}: ${error?.name ?? "Error"}: ${said}. Likely cause: ${help.cause}. Fix: ${help.fix}.`;
}
