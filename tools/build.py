"""make build: the files a board gets, in build/.

    build/boot.py, build/main.py        (source: the board runs these by name)
    build/lib/hanport/*.mpy             (mpy-cross bytecode)
    build/lib/dongle/**/*.mpy
    build/boards/<BOARD>.json           (the chosen board, and the others of
                                         its chip family, for the setup page)
    build/config.template.json          (every key at its default, board set)
    build/slotpick.py                   (source: main.py asks it which code
                                         to run, /lib or an updated slot)
    build/trial.py                      (source: main.py loads it to judge a
                                         new version after an update)
    build/hanport.bundle                (lib/ and www/ in one file with a
                                         manifest, for `make ota`)

The bundle: text lines "HANPORT-BUNDLE 1", "version V", "build ID", "board
B", "boards B1 B2...", "chip C", "mpy VERSION ARCH", a blank line; then per
file "F <size> <sha256> <path>" and its bytes; then "END <files> <sha256 of
every byte before this line>" (firmware/dongle/update.py reads it).

MPY_ARCH sets mpy-cross's native-code architecture (xtensawin for ESP32 and
ESP32-S3, rv32imc for ESP32-C3, x64 for the virtual dongle); by default it
follows the board's chip. Bytecode-only .mpy files run on any of them."""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ARCH = {"esp32": "xtensawin", "esp32s3": "xtensawin", "esp32c3": "rv32imc", "unix": "x64"}


def mpy_cross():
    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return exe if os.path.exists(exe) else "mpy-cross"


def compile_tree(src, dst, arch):
    """Every .py under src -> .mpy under dst; returns the files written."""
    out = []
    for folder, _, files in os.walk(src):
        rel = os.path.relpath(folder, src)
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            target_dir = os.path.join(dst, rel)
            os.makedirs(target_dir, exist_ok=True)
            target = os.path.join(target_dir, name[:-3] + ".mpy")
            source = os.path.join(folder, name)
            # -O3: no line numbers in the bytecode (about 3 % of the heap the
            # code takes on a board; tracebacks still name each function).
            # The source named by the module's dotted name, which importing
            # it interns anyway: not one more name of its own in the RAM
            # that never gives names back (tracebacks say "dongle.app").
            module = os.path.relpath(source, os.path.dirname(src))[:-3].replace(os.sep, ".")
            if module.endswith(".__init__"):
                module = module[:-9]
            cmd = [mpy_cross(), "-O3", "-o", target, "-s", module]
            if arch:
                cmd.append("-march=" + arch)
            subprocess.run(cmd + [source], check=True)
            out.append(target)
    return out


def write_www(dst):
    """firmware/www/index.html and its gzip (mtime 0: the same bytes every
    build) into dst/www/."""
    import gzip
    src = os.path.join(ROOT, "firmware", "www", "index.html")
    if not os.path.exists(src):
        return 0
    os.makedirs(os.path.join(dst, "www"), exist_ok=True)
    with open(src, "rb") as f:
        html = f.read()
    shutil.copy(src, os.path.join(dst, "www", "index.html"))
    gz = gzip.compress(html, compresslevel=9, mtime=0)
    with open(os.path.join(dst, "www", "index.html.gz"), "wb") as f:
        f.write(gz)
    return len(gz)


def build(board, out, arch=None):
    board_file = os.path.join(ROOT, "boards", board + ".json")
    if not os.path.exists(board_file):
        sys.exit("build: no board %r (boards/: %s)" % (board, ", ".join(
            sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "boards")) if f.endswith(".json")))))
    with open(board_file) as f:
        chip = json.load(f)["chip"]
    arch = arch or ARCH.get(chip)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "boards"))
    files = compile_tree(os.path.join(ROOT, "lib", "hanport"), os.path.join(out, "lib", "hanport"), arch)
    files += compile_tree(os.path.join(ROOT, "firmware", "dongle"), os.path.join(out, "lib", "dongle"), arch)
    build_id = make_build_id()
    write_build_id(out, build_id, arch)
    for name in ("boot.py", "main.py", "slotpick.py", "trial.py"):
        shutil.copy(os.path.join(ROOT, "firmware", name), os.path.join(out, name))
    shutil.copy(board_file, os.path.join(out, "boards", board + ".json"))
    # the other boards this build runs on (same chip family, same native
    # code): the setup page offers them
    for name in sorted(os.listdir(os.path.join(ROOT, "boards"))):
        path = os.path.join(ROOT, "boards", name)
        if name.endswith(".json") and name != board + ".json" and chip != "unix":
            with open(path) as f:
                other = json.load(f)["chip"]
            if other != "unix" and ARCH.get(other) == ARCH.get(chip):
                shutil.copy(path, os.path.join(out, "boards", name))
    page = write_www(out)
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    from dongle import config
    template = json.loads(json.dumps(config.DEFAULTS))
    template["board"] = board
    with open(os.path.join(out, "config.template.json"), "w") as f:
        json.dump(template, f, indent=2)
    size = sum(os.path.getsize(p) for p in files)
    boards = sorted(n[:-5] for n in os.listdir(os.path.join(out, "boards")) if n.endswith(".json"))
    bundle = write_bundle(out, board, boards, chip, build_id)
    print("build: %d modules, %d bytes of .mpy, web page %d bytes gzip, board %s, arch %s -> %s; "
          "bundle %d bytes (%s+%s)" % (len(files), size, page, board, arch or "bytecode only",
                                        os.path.relpath(out, ROOT), os.path.getsize(bundle), version(), build_id))


def version():
    with open(os.path.join(ROOT, "firmware", "dongle", "__init__.py")) as f:
        for line in f:
            if line.startswith("VERSION = "):
                return line.split('"')[1]
    raise SystemExit("build: no VERSION in firmware/dongle/__init__.py")


def make_build_id():
    """The commit and whether the tree differs from it: "ab12cd3" or
    "ab12cd3-dirty"; "nogit" outside a git checkout. BUILD_ID overrides."""
    if os.environ.get("BUILD_ID"):
        return os.environ["BUILD_ID"]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "firmware", "lib"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "nogit"


def write_build_id(out, build_id, arch):
    """dongle/__init__.mpy again, its BUILD the build id (a module of its
    own would stay in RAM, three names more, for one string)."""
    with open(os.path.join(ROOT, "firmware", "dongle", "__init__.py")) as f:
        text = f.read()
    blank = '\nBUILD = ""'
    if text.count(blank) != 1:
        raise SystemExit("build: no BUILD = \"\" line in firmware/dongle/__init__.py")
    src = os.path.join(out, "__init__.py")
    with open(src, "w") as f:
        f.write(text.replace(blank, "\nBUILD = %r" % build_id))
    target = os.path.join(out, "lib", "dongle", "__init__.mpy")
    cmd = [mpy_cross(), "-O3", "-o", target, "-s", "dongle"] + (["-march=" + arch] if arch else [])
    subprocess.run(cmd + [src], check=True)
    os.remove(src)


def mpy_header(out):
    """(mpy version, native arch number) of the build's .mpy files: the
    arch of those with native code (viper.py), 0 when none has any."""
    ver, arch = 0, 0
    for folder, _, names in os.walk(os.path.join(out, "lib")):
        for n in names:
            if n.endswith(".mpy"):
                with open(os.path.join(folder, n), "rb") as f:
                    head = f.read(4)
                ver, arch = head[1], max(arch, head[2] >> 2)
    return ver, arch


def write_bundle(out, board, boards, chip, build_id, name="hanport.bundle", ver_text=None):
    """lib/ and www/ of the build in one file (see the module's doc)."""
    import hashlib
    paths = []
    for top in ("lib", "www"):
        for folder, _, names in os.walk(os.path.join(out, top)):
            for n in sorted(names):
                paths.append(os.path.relpath(os.path.join(folder, n), out).replace(os.sep, "/"))
    paths.sort()
    ver, arch = mpy_header(out)
    whole = hashlib.sha256()
    target = os.path.join(out, name)
    with open(target, "wb") as f:
        def put(b):
            whole.update(b)
            f.write(b)
        put(("HANPORT-BUNDLE 1\nversion %s\nbuild %s\nboard %s\nboards %s\nchip %s\nmpy %d %d\n\n" % (
            ver_text or version(), build_id, board, " ".join(boards), chip, ver, arch)).encode())
        for p in paths:
            with open(os.path.join(out, p), "rb") as g:
                data = g.read()
            put(("F %d %s %s\n" % (len(data), hashlib.sha256(data).hexdigest(), p)).encode())
            put(data)
        f.write(("END %d %s\n" % (len(paths), whole.hexdigest())).encode())
    return target


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--board", default=os.environ.get("BOARD") or "esp32-devkitc")
    ap.add_argument("--arch", default=os.environ.get("MPY_ARCH") or None)
    ap.add_argument("--out", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    build(args.board, args.out, args.arch)


if __name__ == "__main__":
    main()
