#!/usr/bin/python3
"""src/base/rng.h in plain Python (no numpy), for the reference scripts: SplitMix64 folding of
(seed, purpose, a) into a Philox4x32-10 key, b the high half of the counter; words drawn in order,
u64 as two words (high first), below(n) by rejection of the top partial range."""

M32 = (1 << 32) - 1
M64 = (1 << 64) - 1


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
