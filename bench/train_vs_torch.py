#!/usr/bin/env python3
"""Training speed of r1.c beside our PyTorch reference, timed in lockstep.

    python3 bench/train_vs_torch.py --threads 2 [--pairs 15] [--build build] [--config PATH]

Runs build/bench/bench_model and tools/bench_torch.py (Debian's /usr/bin/python3) on the same
config, batch 16 x 256, the same thread count, both with --lockstep: each process builds its model,
says READY, and then runs one forward + backward step per line it reads. This script hands out the
steps in turn — ours, torch, torch, ours, ours, torch, ... (the order alternates so neither side
always runs right after the other) — so every step of one side has a step of the other next to it
in time. On this machine the speed drifts by 15-40 % within minutes; stepping in turn puts both
sides under the same drift, where timing one whole run after the other did not.

Prints one line per pair (step seconds of each side, their ratio, and the share of CPU time the
hypervisor stole from the VM during the pair, from /proc/stat), each side's median step, then BENCH
lines: train_vs_torch (2 threads) or train_vs_torch_1t from the median pair — the pair whose ratio
is the median of the pair ratios (the lower middle one for an even count): value = our tokens/s in
that pair, reference_value = torch's, ratio = value / reference_value. One warm-up step each is not
counted. The pair ratio is the statistic the lockstep exists for: the two steps of a pair ran under
the same machine state, while each side's median step comes from a different moment (six 15-pair
runs on 2026-11-29: ratio of the two medians 1.91-2.28, median pair ratio 2.07-2.18). Then
bench_model's own figures. (bench/bench_train.sh adds train_vs_sgemm_peak.)
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

    def __init__(self, name, cmd):
        self.name, self.cmd, self.steps = name, cmd, []
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--pairs", type=int, default=15, help="timed steps of each side (after 1 warm-up)")
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--config", default="/work/shared/bench/bench_config.json")
    args = ap.parse_args()
    if args.pairs < 1 or args.pairs > 64:
        ap.error("--pairs must be 1..64")
    if not os.path.exists(args.config):
        args.config = "tests/fixtures/model/b_bench/config.json"
    T, n = args.threads, args.pairs
    common = ["--config", args.config, "--batch", str(BATCH), "--seq", str(SEQ), "--threads", str(T),
              "--steps", str(n), "--lockstep"]
    binary = os.path.join(args.build, "bench", "bench_model")
    if not os.access(binary, os.X_OK):
        sys.exit(f"train_vs_torch: {binary} is missing (make {binary})")
    ours = Side("bench_model", [binary] + common)
    torch = Side("bench_torch", ["/usr/bin/python3", "tools/bench_torch.py", "--mode", "train",
                                 "--warmup", "1"] + common)
    for s in (ours, torch):
        s.expect("READY")   # both models built before the first step
    pairs = []
    for i in range(n + 1):
        c0 = cpu_ticks()
        for s in ((ours, torch) if i % 2 == 0 else (torch, ours)):
            s.step()
        if i > 0:   # step 0 is each side's warm-up
            pairs.append((ours.steps[-1], torch.steps[-1], steal_share(c0, cpu_ticks())))
    ours_out, torch_out = ours.finish(), torch.finish()
    for i, (o, t, st) in enumerate(pairs, 1):
        print(f"# train {T} threads, pair {i}: ours {o:.3f} s, torch {t:.3f} s, ratio {t / o:.3f}, "
              f"CPU stolen by the host {100 * st:.0f}%")
    mid = sorted(pairs, key=lambda p: p[1] / p[0])[(n - 1) // 2]
    med_o, med_t = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    print(f"# train {T} threads: median step ours {med_o:.3f} s, torch {med_t:.3f} s (ratio of the "
          f"medians {med_t / med_o:.3f}); median pair ratio {mid[1] / mid[0]:.3f}")
    rows = {}
    for line in ours_out.splitlines():
        if line.startswith("BENCH "):
            r = json.loads(line[6:])
            rows[r["name"]] = r
    tref = json.loads(torch_out.strip().splitlines()[-1])
    value, ref = TOKENS / mid[0], TOKENS / mid[1]
    name = "train_vs_torch" if T == 2 else f"train_vs_torch_{T}t"
    print("BENCH " + json.dumps({"name": name, "value": round(value, 1), "unit": "tokens/s",
          "reference": f"torch {tref.get('torch', '')} fwd+bwd, {T} threads, lockstep, median pair of {n}",
          "reference_value": round(ref, 1), "ratio": round(value / ref, 4)}))
    for r in rows.values():
        print("BENCH " + json.dumps(r))


if __name__ == "__main__":
    main()
