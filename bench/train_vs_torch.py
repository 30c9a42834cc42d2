#!/usr/bin/env python3
"""Training speed of r1.c beside our PyTorch reference, timed in lockstep, in f32 and bf16.

    python3 bench/train_vs_torch.py --threads 2 [--pairs 15] [--build build] [--config PATH]
                                    [--precisions f32,bf16]

Runs build/bench/bench_model and tools/bench_torch.py (Debian's /usr/bin/python3) on the same
config, batch 16 x 256, the same thread count, each in every precision of --precisions (r1:
`--precision bf16` = bf16 operands in the big products, fp32 master weights; torch: the forward
under CPU bf16 autocast, fp32 master weights), all with --lockstep: each process builds its model,
says READY, and then runs one forward + backward step per line it reads. This script hands out the
steps in rounds, one step of every side per round, the order turned by one side each round and
reversed every other lap, so every step of one side has a step of each other side next to it in
time. On this machine the speed drifts by 15-40 % within minutes; stepping in turn puts all sides
under the same drift, where timing one whole run after the other did not. Every side runs with
OPENBLAS_CORETYPE set to the best kernel family of the CPU (SkylakeX on AVX-512), whatever the
environment says: the fp32 products of both at their best.

Prints one line per round (step seconds of each side and the share of CPU time the hypervisor
stole from the VM during the round, from /proc/stat), each side's median step, then BENCH lines,
each from the median pair of two sides — the round whose time ratio of the two is the median of
the rounds' (the lower middle one for an even count): value = the first side's tokens/s in that
round, reference_value = the second's, ratio = value / reference_value. Names (suffix _1t etc.
below 2 threads):
  train_f32_vs_torch, train_bf16_vs_torch   r1 in that precision vs torch f32
  train_vs_torch                            r1 at its best precision (the larger of those two
                                            median pair ratios; named in its reference) vs torch f32
  train_bf16_vs_torch_bf16                  both in bf16
  torch_bf16_vs_torch_f32, r1_bf16_vs_r1_f32  each side's own bf16 speed-up
One warm-up step each is not counted. The pair ratio is the statistic the lockstep exists for: the
two steps of a pair ran under the same machine state, while each side's median step comes from a
different moment (six 15-pair runs on 2026-11-29: ratio of the two medians 1.91-2.28, median pair
ratio 2.07-2.18). Then bench_model's own figures (names ending in _bf16 for its bf16 run).
(bench/bench_train.sh adds train_vs_sgemm_peak.)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


BATCH, SEQ = 16, 256
TOKENS = BATCH * SEQ


def cpu_ticks():
    with open("/proc/stat") as f:
        return list(map(int, f.readline().split()[1:]))


def steal_share(a, b):
    d = [y - x for x, y in zip(a, b)]
    return d[7] / sum(d) if len(d) > 7 and sum(d) > 0 else 0.0


class Side:
    """One lockstep benchmark process."""

    def __init__(self, name, cmd, env):
        self.name, self.cmd, self.steps = name, cmd, []
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def expect(self, word):
        """Reads stdout up to the line starting with `word`; returns that line's rest."""
        for line in self.p.stdout:
            if line.startswith(word):
                return line[len(word):].strip()
        sys.exit(f"train_vs_torch: {self.name} ended before '{word}' "
                 f"(exit {self.p.wait()}): {' '.join(self.cmd)}")

    def step(self):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()
        self.steps.append(float(self.expect("STEP ")))   # the READY that follows is read next time

    def finish(self):
        self.p.stdin.close()
        rest = self.p.stdout.read()
        if self.p.wait() != 0:
            sys.exit(f"train_vs_torch: {self.name} failed (exit {self.p.returncode})")
        return rest


def blas_coretype():
    """OpenBLAS's best kernel family for this CPU (both sides' fp32 products run on it): an
    inherited OPENBLAS_CORETYPE (e.g. Haswell on an AVX-512 machine) would hold both back."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l for l in f if l.startswith("flags")), "").split()
    except OSError:
        return None
    if {"avx512f", "avx512bw", "avx512vl"} <= set(flags):
        return "SkylakeX"
    if {"avx2", "fma"} <= set(flags):
        return "Haswell"
    return None


def median_pair(pairs, a, b):
    """The round whose time ratio b/a (a faster: > 1) is the median of the rounds' (the lower
    middle one for an even count): (ratio, seconds of a, seconds of b)."""
    rs = sorted((p[b] / p[a], p[a], p[b]) for p in pairs)
    return rs[(len(rs) - 1) // 2]


def record(name, ours, theirs, ref, n):
    """A BENCH line from a median pair of step seconds (ours, theirs)."""
    value, refv = TOKENS / ours, TOKENS / theirs
    print("BENCH " + json.dumps({"name": name, "value": round(value, 1), "unit": "tokens/s",
          "reference": f"{ref}, median pair of {n}", "reference_value": round(refv, 1),
          "ratio": round(value / refv, 4)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--pairs", type=int, default=15, help="timed steps of each side (after 1 warm-up)")
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--config", default="/work/shared/bench/bench_config.json")
    ap.add_argument("--precisions", default="f32,bf16",
                    help="comma-separated: the precisions both sides run in (f32, bf16)")
    args = ap.parse_args()
    if args.pairs < 1 or args.pairs > 64:
        ap.error("--pairs must be 1..64")
    precs = args.precisions.split(",")
    if not precs or any(p not in ("f32", "bf16") for p in precs) or len(set(precs)) != len(precs):
        ap.error("--precisions: a list of distinct f32, bf16")
    if not os.path.exists(args.config):
        args.config = "tests/fixtures/model/b_bench/config.json"
    T, n = args.threads, args.pairs
    env = dict(os.environ)
    core = blas_coretype()
    if core:
        env["OPENBLAS_CORETYPE"] = core
    common = ["--config", args.config, "--batch", str(BATCH), "--seq", str(SEQ), "--threads", str(T),
              "--steps", str(n), "--lockstep"]
    binary = os.path.join(args.build, "bench", "bench_model")
    if not os.access(binary, os.X_OK):
        sys.exit(f"train_vs_torch: {binary} is missing (make {binary})")
    sides = {}
    for p in precs:
        sides["r1 " + p] = Side("bench_model " + p, [binary, "--precision", p] + common, env)
        sides["torch " + p] = Side("bench_torch " + p, ["/usr/bin/python3", "tools/bench_torch.py",
                                   "--mode", "train", "--warmup", "1", "--precision", p] + common, env)
    names = list(sides)
    for s in sides.values():
        s.expect("READY")   # every model built before the first step
    rounds = []
    for i in range(n + 1):
        # each round runs one step of every side; the order turns and reverses from round to
        # round, so no side always runs right after the same other one
        k = i % len(names)
        order = names[k:] + names[:k]
        if (i // len(names)) % 2:
            order.reverse()
        c0 = cpu_ticks()
        for nm in order:
            sides[nm].step()
        if i > 0:   # round 0 is each side's warm-up
            r = {nm: sides[nm].steps[-1] for nm in names}
            r["steal"] = steal_share(c0, cpu_ticks())
            rounds.append(r)
    outs = {nm: s.finish() for nm, s in sides.items()}
    for i, r in enumerate(rounds, 1):
        print(f"# train {T} threads, round {i}: " + ", ".join(f"{nm} {r[nm]:.3f} s" for nm in names)
              + f", CPU stolen by the host {100 * r['steal']:.0f}%")
    for nm in names:
        print(f"# train {T} threads: median step {nm} {statistics.median(r[nm] for r in rounds):.3f} s")
    tref = json.loads(outs[names[1]].strip().splitlines()[-1])
    tv = tref.get("torch", "")
    sfx = "" if T == 2 else f"_{T}t"
    if "f32" in precs:
        best = None   # (ratio, ours, torch, precision) of r1's best precision against torch f32
        for p in precs:
            ratio, o, t = median_pair(rounds, "r1 " + p, "torch f32")
            print(f"# train {T} threads: r1 {p} vs torch f32, median pair ratio {ratio:.3f}")
            record(f"train_{p}_vs_torch{sfx}", o, t, f"r1 {p} vs torch {tv} f32 fwd+bwd, {T} threads, lockstep", n)
            if best is None or ratio > best[0]:
                best = (ratio, o, t, p)
        print(f"# train {T} threads: r1's best precision against torch f32: {best[3]}")
        record(f"train_vs_torch{sfx}", best[1], best[2],
               f"r1 at its best precision ({best[3]}) vs torch {tv} f32 fwd+bwd, {T} threads, lockstep", n)
    if "bf16" in precs:
        ratio, o, t = median_pair(rounds, "r1 bf16", "torch bf16")
        record(f"train_bf16_vs_torch_bf16{sfx}", o, t,
               f"r1 bf16 vs torch {tv} bf16 autocast fwd+bwd, {T} threads, lockstep", n)
    if len(precs) == 2:
        ratio, o, t = median_pair(rounds, "torch bf16", "torch f32")
        record(f"torch_bf16_vs_torch_f32{sfx}", o, t, f"torch {tv} bf16 autocast vs torch f32, {T} threads", n)
        ratio, o, t = median_pair(rounds, "r1 bf16", "r1 f32")
        record(f"r1_bf16_vs_r1_f32{sfx}", o, t, f"r1 bf16 vs r1 f32, {T} threads", n)
    print(f"# OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '')} on every side")
    for nm in names:
        if nm.startswith("r1"):
            for line in outs[nm].splitlines():
                if line.startswith("BENCH "):
                    print(line)


if __name__ == "__main__":
    main()
