"""The HTTP server when the heap runs short, under MicroPython (the unix
port, in a small fixed heap): a request that would leave less than
http.RESERVE free is answered 503 without its handler being run, one that
runs out of memory part way is answered 503 too, both are counted in
short_of_memory, and the server answers normally once there is room."""
import json
import os
import socket
import subprocess

from testkit import heapfill
from testkit.mpy import ROOT, micropython

# a client in the script's own heap: ask(port, path) -> what the server
# sent until it closed, as text
CLIENT = r"""
import asyncio
received = bytearray(1024)     # (read into these, made while there is room)
view = memoryview(received)

async def answer(r, w):
    # what the server sends until it closes, as text
    n = 0
    while True:
        k = await r.readinto(view[n:])
        if not k:
            break
        n += k
    w.close()
    await w.wait_closed()
    return bytes(view[:n]).decode()

async def ask(port, path):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET " + path + b" HTTP/1.0\r\n\r\n")
    await w.drain()
    return await answer(r, w)
"""

SCRIPT = heapfill.CODE + CLIENT + r"""
import gc, json
from dongle import http

calls = []

def handler(req):
    calls.append(req.path)
    if req.path == "/huge":
        bytearray(1 << 40)              # more than any heap: a MemoryError
    return 200, "text/plain", "ok " + req.path, None

async def main(port):
    s = http.Server(handler, print)
    await s.start(port, "127.0.0.1")
    out = {}
    out["huge"] = await ask(port, b"/huge")
    # the heap full but for one run of half the reserve: less than the
    # reserve free, in one run this client's own allocations can use
    fill(http.RESERVE // 2)
    out["free_when_short"] = gc.mem_free()
    out["short"] = await ask(port, b"/short")
    empty()
    out["after"] = await ask(port, b"/after")
    # a head arriving in pieces while the heap is nearly full: the server
    # reads pieces only while the reserve is free, so it refuses this client
    # before the heap goes below it by more than a piece (buffering the
    # whole head, 2 KB, would take it 1 KB below)
    fill(http.RESERVE + 1024)
    short = s.short
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET /long HTTP/1.0\r\n")
    low = gc.mem_free()
    pieces = 0
    while s.short == short and pieces < 18:
        w.write(b"X-Pad-%02d: %s\r\n" % (pieces, b"a" * 100))
        await w.drain()
        pieces += 1
        await asyncio.sleep_ms(30)
        gc.collect()
        low = min(low, gc.mem_free())
    out["long"] = await answer(r, w)
    out["long_low"] = low
    out["long_pieces"] = pieces
    empty()
    out["calls"] = calls
    out["status"] = {"served": s.served, "refused": s.refused, "errors": s.errors, "active": s.active,
                     "short_of_memory": s.short}          # (what /api/status shows of it)
    out["reserve"] = http.RESERVE
    print("RESULT " + json.dumps(out))

asyncio.run(main(PORT))
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(code, heapsize):
    """code under micropython in a heap of heapsize, with lib/ and
    firmware/ on its path: the JSON it prints after RESULT."""
    env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (ROOT / "lib", ROOT / "firmware"))
    r = subprocess.run([micropython(), "-X", "heapsize=" + heapsize, "-c", code], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr + r.stdout
    line = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    assert line, r.stdout
    return json.loads(line[0][7:])


def test_short_heap_gets_503_and_is_counted():
    out = run(SCRIPT.replace("PORT", str(free_port())), "96K")
    busy = '{"error": "busy: low on memory, try again", "status": 503}'
    # the handler ran and ran out: 503, not 500
    assert out["huge"].startswith("HTTP/1.0 503 "), out["huge"]
    assert "Retry-After: 2" in out["huge"] and out["huge"].endswith(busy)
    # too little free for the reserve: refused before the handler runs
    assert out["free_when_short"] < out["reserve"]
    assert out["short"].startswith("HTTP/1.0 503 ") and out["short"].endswith(busy), out["short"]
    assert "/short" not in out["calls"]
    # room again: served
    assert out["after"].startswith("HTTP/1.0 200 ") and out["after"].endswith("ok /after")
    # the long head: refused part way, the heap never more than a piece
    # (and its bookkeeping) below the reserve
    assert out["long"].startswith("HTTP/1.0 503 ") and out["long"].endswith(busy), out["long"]
    assert 2 <= out["long_pieces"] < 18 and out["long_low"] >= out["reserve"] - 512, out
    assert out["calls"] == ["/huge", "/after"]
    st = out["status"]
    assert st["short_of_memory"] == 3 and st["refused"] == 3 and st["served"] == 1, st


STRANDED_SCRIPT = heapfill.CODE + CLIENT + r"""
import gc, json, time
from dongle import http, spare

spare.STRANDED_MS = 2000         # (30 s on the dongle; far longer than a request waits for room)
held_back = [None] * 400

async def slow(req):
    await asyncio.sleep_ms(800)
    return 200, "text/plain", "ok " + req.path, None

def handler(req):
    if req.path == "/slow":
        return slow(req)
    return 200, "text/plain", "ok " + req.path, None

async def main(port):
    s = http.Server(handler, print)
    await s.start(port, "127.0.0.1")
    out = {"block_held": await ask(port, b"/block-held")}
    # the heap cut into runs shorter than the block, with far more than
    # it free in all (the block out first, so that its run is cut up too),
    # and a frame runs short on it
    spare.let_go()
    fragment(spare.SIZE // 4)
    spare.let_go()
    out["free"], out["size"], out["reserve"] = gc.mem_free(), spare.SIZE, http.RESERVE
    out["retaken"] = spare.held()
    out["block_out"] = await ask(port, b"/block-out")
    time.sleep_ms(2100)
    out["stranded"] = await ask(port, b"/stranded")
    # two at once: the second waits for the first, which takes longer than
    # a request waits for room
    first = asyncio.create_task(ask(port, b"/slow"))
    await asyncio.sleep_ms(100)
    out["second"] = await ask(port, b"/second")
    out["first"] = await first
    # too little free beside the reserve for the block's size
    n = 0
    gc.collect()
    while gc.mem_free() > http.RESERVE + spare.SIZE // 2:
        held_back[n] = bytearray(spare.SIZE // 8)
        n += 1
    out["too_little"] = await ask(port, b"/too-little")
    for i in range(n):
        held_back[i] = None
    # the work ran short again: closed until it has gone the time without
    spare.let_go()
    out["short_again"] = await ask(port, b"/short-again")
    time.sleep_ms(2100)
    out["stranded_again"] = await ask(port, b"/stranded-again")
    # room in one run again: the block is taken back
    empty()
    out["back"] = await ask(port, b"/back")
    out["held"] = spare.block is not None
    out["short_of_memory"], out["served"] = s.short, s.served
    print("RESULT " + json.dumps(out))

asyncio.run(main(PORT))
"""


def test_a_heap_too_cut_up_to_take_the_spare_block_back_still_serves_one_request_at_a_time():
    """After a frame ran short the spare block is out; on a heap with room
    only in runs shorter than the block it cannot be taken back. HTTP is
    closed while the meter's work may still run short, and once that has
    not happened for spare.STRANDED_MS it answers one request at a time,
    with the block's size free beside its reserve (before: 503 for good,
    however much was free)."""
    out = run(STRANDED_SCRIPT.replace("PORT", str(free_port())), "192K")
    ok, busy = "HTTP/1.0 200 ", "HTTP/1.0 503 "
    assert out["block_held"].startswith(ok) and out["block_held"].endswith("ok /block-held")
    assert out["retaken"] is False and out["free"] > 4 * out["size"] + out["reserve"], out
    assert out["block_out"].startswith(busy), out["block_out"]
    assert out["stranded"].startswith(ok) and out["stranded"].endswith("ok /stranded"), out["stranded"]
    assert out["first"].startswith(ok) and out["first"].endswith("ok /slow"), out["first"]
    assert out["second"].startswith(busy), out["second"]
    assert out["too_little"].startswith(busy), out["too_little"]
    assert out["short_again"].startswith(busy), out["short_again"]
    assert out["stranded_again"].startswith(ok), out["stranded_again"]
    assert out["back"].startswith(ok) and out["held"] is True
    assert out["short_of_memory"] == 4 and out["served"] == 5, out


SPARE_SCRIPT = heapfill.CODE + r"""
import gc, json, binascii
import hanport
from dongle import spare

telegram = binascii.unhexlify(TELEGRAM)
dec = hanport.Decoder()
out = {"first": len(dec.feed(telegram))}          # (parser modules loaded)

fill(0)
try:
    dec.feed(telegram)
    out["without"] = "decoded"
except MemoryError:
    out["without"] = "MemoryError"
    dec.reset()
empty()
fill(0)
spare.ensure()                            # what the meter task does before each read
r = dec.feed(telegram)
out["with"] = [x.to_json() for x in r]
out["held_while_full"] = spare.held()
out["status_while_full"] = {"bytes": spare.SIZE if spare.block is not None else 0, "spent": spare.spent}
empty()
out["held_after"] = spare.held()
out["status_after"] = {"bytes": spare.SIZE if spare.block is not None else 0, "spent": spare.spent}
out["frames_ok"] = dec.frames_ok
print("RESULT " + json.dumps(out))
"""


def test_the_spare_block_lets_the_meter_decode_on_a_full_heap():
    """The heap full (HTTP clients): decoding a telegram runs out, unless
    spare.ensure() let the meter's spare block go first; the block is back
    once the heap has room."""
    import hanport
    from testkit.p1gen import random_telegram
    import random
    telegram = random_telegram(random.Random(7)).data
    want = [r.to_json() for r in hanport.Decoder().feed(telegram)]
    assert len(want) == 1
    out = run(SPARE_SCRIPT.replace("TELEGRAM", repr(telegram.hex())), "192K")
    assert out["first"] == 1
    assert out["without"] == "MemoryError"          # the heap really was full
    assert out["with"] == want                      # the same reading as CPython's, on a full heap
    assert out["held_while_full"] is False and out["status_while_full"]["bytes"] == 0
    assert out["status_while_full"]["spent"] == 1
    assert out["held_after"] is True
    assert out["status_after"]["bytes"] > 0 and out["status_after"]["spent"] == 1
    assert out["frames_ok"] == 2
