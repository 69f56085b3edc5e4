"""One fuzz input. Input i is built from its own random.Random(seed, i), so
any input replays alone (fuzz.py --replay I). It is: 0-2 unmutated seed
messages sharing the keys, then one mutated message (mutators.py),
sometimes another unmutated one, fed in random chunks."""
from random import Random

from .mutators import mutate_badtag, mutate_bytes, mutate_fixed, random_bytes
from .oracle import NO_KEYS
from .seeds import Seed


class Case:
    """One fuzz input: data, how it is cut into feed() calls, the keys,
    what was done to it, and the span of a message that must not decode."""
    __slots__ = ("index", "data", "chunks", "keys", "kind", "skip")

    def __init__(self, index, data, chunks, keys, kind, skip=None):
        self.index, self.data, self.chunks, self.keys, self.kind, self.skip = index, data, chunks, keys, kind, skip


def peers(seeds):
    """{keys: seeds that may share a stream with a seed of those keys}:
    the same keys (one meter), or none (plain P1 and DLMS)."""
    by_keys = {}
    for s in seeds:
        by_keys.setdefault(s.keys, []).append(s)
    for k in by_keys:
        if k != NO_KEYS:
            by_keys[k] = by_keys[k] + by_keys.get(NO_KEYS, [])
    return by_keys


def make_case(seed, index, seeds, by_keys):
    """Input number index of the run with this seed; by_keys: peers(seeds)."""
    rng = Random(seed * 1000003 + index)
    main = rng.choice(seeds)
    keys = main.keys
    if keys[0] is not None and rng.random() < 0.05:
        keys = rng.choice((NO_KEYS, (keys[0], None), (bytes(16), bytes(16))))
    same_stream = by_keys[main.keys]
    parts = [rng.choice(same_stream).data for _ in range(rng.choice((0, 0, 1, 1, 2)))]
    if parts and rng.random() < 0.3:
        parts.insert(rng.randrange(len(parts) + 1), random_bytes(rng, rng.randrange(20)))
    r = rng.random()
    skip = None
    mutant = None
    # the meter encrypts with its own keys, whatever the decoder was given
    if r < 0.08 and keys == main.keys:
        mutant = mutate_badtag(rng, main, keys)
        kind = "badtag"
    if mutant is None and r < 0.45:
        mutant, kind = mutate_fixed(rng, main, main.keys)
    if mutant is None:
        mutant, kind = mutate_bytes(rng, main, seeds)
        for _ in range(rng.choice((0, 0, 0, 1, 2))):
            again = Seed(main.name, mutant, main.keys) if rng.random() < 0.3 else None
            mutant, more = mutate_bytes(rng, again or _Raw(mutant, main.frames), seeds)
            kind += "+" + more.split(":")[1]
    start = sum(map(len, parts))
    if kind == "badtag":
        skip = (start, start + len(mutant))
    parts.append(mutant)
    if rng.random() < 0.2:
        parts.append(rng.choice(same_stream).data)
    data = b"".join(parts)
    return Case(index, data, chunking(rng, data), keys, kind, skip)


class _Raw:
    """Bytes with a seed's frame list (positions may be stale: the length
    mutator tolerates that)."""
    __slots__ = ("data", "frames")

    def __init__(self, data, frames):
        self.data = data
        self.frames = [f for f in frames if f.end <= len(data)]


def chunking(rng, data):
    """data cut into feed() calls: whole, in pieces of one size, or at random."""
    how = rng.random()
    n = len(data)
    if how < 0.3:
        return [data]
    if how < 0.6:
        size = rng.choice((1, 2, 3, 7, 64, 255)) if n < 3000 else rng.choice((64, 255, 1024))
        return [data[k:k + size] for k in range(0, n, size)]
    out, k = [], 0
    while k < n:
        step = rng.randint(1, 300)
        out.append(data[k:k + step])
        k += step
    return out
