#!/usr/bin/python3
"""Reference of src/pipeline/bootstrap.c in plain Python (no numpy), used by tests/test_bootstrap.c.

Written from the documented algorithm, not from the C loops: the resample streams are Philox4x32-10
keyed as src/base/rng.h describes (SplitMix64 folding of seed, purpose, key; the resample index as
the high half of the counter), indices by rejection sampling below n, the interval by
numpy.percentile's default (type 7) interpolation. Python floats are IEEE doubles and each sum runs
in the same order, so the answer must match the C code to the bit.

Usage: echo '{"d": [...], "resamples": 2000, "level": 0.95, "seed": 1, "key": 2}' |
       /usr/bin/python3 tools/ref_bootstrap.py      -> {"estimate": .., "lo": .., "hi": ..}
"""
import json
import math
import sys

M32 = (1 << 32) - 1
M64 = (1 << 64) - 1
RNG_BOOTSTRAP = 8


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def philox4x32(key, ctr_lo, ctr_hi):
    c = [ctr_lo & M32, ctr_lo >> 32, ctr_hi & M32, ctr_hi >> 32]
    k0, k1 = key & M32, key >> 32
    for _ in range(10):
        p0 = 0xD2511F53 * c[0]
        p1 = 0xCD9E8D57 * c[2]
        c = [((p1 >> 32) ^ c[1] ^ k0) & M32, p1 & M32, ((p0 >> 32) ^ c[3] ^ k1) & M32, p0 & M32]
        k0 = (k0 + 0x9E3779B9) & M32
        k1 = (k1 + 0xBB67AE85) & M32
    return c


class Stream:
    def __init__(self, seed, purpose, a, b):
        self.key = splitmix64(splitmix64(splitmix64(seed) ^ purpose) ^ a)
        self.hi, self.ctr, self.words = b, 0, []

    def u32(self):
        if not self.words:
            self.words = philox4x32(self.key, self.ctr, self.hi)
            self.ctr += 1
        return self.words.pop(0)

    def u64(self):
        hi = self.u32()
        return (hi << 32) | self.u32()

    def below(self, n):
        limit = M64 - M64 % n
        while True:
            x = self.u64()
            if x < limit:
                return x % n


def quantile(x, q):
    h = (len(x) - 1) * q
    j = math.floor(h)
    if j >= len(x) - 1:
        return x[-1]
    return x[j] + (h - j) * (x[j + 1] - x[j])


def mean(values):
    s = 0.0
    for v in values:
        s += v
    return s / len(values)


def main():
    a = json.load(sys.stdin)
    d, level = a["d"], a["level"]
    n = len(d)
    means = []
    for b in range(a["resamples"]):
        r = Stream(a["seed"], RNG_BOOTSTRAP, a["key"], b)
        means.append(mean([d[r.below(n)] for _ in range(n)]))
    means.sort()
    json.dump({"estimate": mean(d), "lo": quantile(means, (1 - level) / 2),
               "hi": quantile(means, (1 + level) / 2)}, sys.stdout)


if __name__ == "__main__":
    main()
