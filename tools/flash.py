"""make flash: erase a board and write MicroPython's firmware with esptool.

Download the firmware file for your chip from micropython.org/download
(ESP32_GENERIC, ESP32_GENERIC_C3 or ESP32_GENERIC_S3; v1.23 or newer).
The address differs per chip: 0x1000 on the ESP32, 0x0 on the C3 and S3."""
import argparse
import os
import subprocess
import sys

OFFSET = {"esp32": "0x1000", "esp32c3": "0x0", "esp32s3": "0x0"}


def commands(port, chip, firmware, baud=460800):
    esptool = os.path.join(os.path.dirname(sys.executable), "esptool")
    if not os.path.exists(esptool):
        esptool = "esptool"
    base = [esptool, "--chip", chip, "--port", port]
    return [base + ["erase-flash"],
            base + ["--baud", str(baud), "write-flash", OFFSET[chip], firmware]]


IMAGE = {"esp32": "ESP32_GENERIC", "esp32c3": "ESP32_GENERIC_C3", "esp32s3": "ESP32_GENERIC_S3"}


def image_mismatch(chip, firmware):
    """A reason when the file's name is micropython.org's image for another
    chip (ESP32_GENERIC-..., ESP32_GENERIC_C3-..., ESP32_GENERIC_S3-...)."""
    name = os.path.basename(firmware).upper()
    for other, tag in sorted(IMAGE.items(), key=lambda x: -len(x[1])):
        if name.startswith(tag + "-") or name.startswith(tag + "."):
            if other != chip:
                return "%s is the %s image, not one for CHIP=%s (%s-...bin)" % (
                    os.path.basename(firmware), other, chip, IMAGE[chip])
            return None
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", required=True)
    ap.add_argument("--chip", required=True, choices=sorted(OFFSET))
    ap.add_argument("--firmware", required=True, help="the .bin file from micropython.org")
    ap.add_argument("--dry-run", action="store_true", help="print the esptool commands only")
    ap.add_argument("--force", action="store_true", help="write an image named for another chip")
    args = ap.parse_args()
    why = image_mismatch(args.chip, args.firmware)
    if why and not args.force:
        sys.exit("flash: %s; set CHIP to the board's chip (FORCE=1 writes it all the same)" % why)
    if not args.dry_run and not os.path.exists(args.firmware):
        sys.exit("flash: firmware file %s not found" % args.firmware)
    for cmd in commands(args.port, args.chip, args.firmware):
        print("$ " + " ".join(cmd))
        if not args.dry_run and subprocess.run(cmd).returncode != 0:
            sys.exit("flash: esptool failed; hold the board's BOOT button while it starts, or check PORT")


if __name__ == "__main__":
    main()
