"""Put umqtt/simple.py from the PyPI package micropython-umqtt.simple into a
folder, for the MicroPython unix port (stock ESP32 firmware has it built in).

pip cannot install that package (its sdist has no setup.py), so this fetches
the sdist through the package index pip is configured with, checks its
sha256 and takes the one file out of it."""
import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request

PROJECT = "micropython-umqtt-simple"
FILE = "micropython-umqtt.simple-1.3.4.tar.gz"
SHA256 = "b6a2520239e3992c63a7de9370ee9b3d9d27819a90359c521f1c0f7ccab8d12f"
MEMBER = "micropython-umqtt.simple-1.3.4/umqtt/simple.py"


def index_url():
    """The index pip uses: PIP_INDEX_URL, pip's config, or pip's default."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    from pip._internal.models.index import PyPI
    return PyPI.simple_url


def fetch(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.read()


def main(dest):
    target = os.path.join(dest, "umqtt", "simple.py")
    if os.path.exists(target):
        return 0
    base = index_url().rstrip("/") + "/"
    page_url = urllib.parse.urljoin(base, PROJECT + "/")
    page = fetch(page_url).decode("utf-8", "replace")
    links = re.findall(r'href="([^"]+)"', page)
    link = next((l for l in links if l.split("#")[0].endswith("/" + FILE) or l.split("#")[0] == FILE), None)
    if link is None:
        sys.exit("fetch_umqtt: %s not listed at %s" % (FILE, page_url))
    data = fetch(urllib.parse.urljoin(page_url, link.split("#")[0]))
    if hashlib.sha256(data).hexdigest() != SHA256:
        sys.exit("fetch_umqtt: %s does not have the expected sha256" % FILE)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        source = tar.extractfile(MEMBER).read()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target + ".tmp", "wb") as f:
        f.write(source)
    os.replace(target + ".tmp", target)
    print("fetch_umqtt: %s from %s" % (target, FILE))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".venv/mplib"))
