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

from ref_rng import M64, Stream

RNG_BOOTSTRAP = 8


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
