"""Speed of our PyTorch reference (CPU): the `reference` figures of `make bench`.

    /usr/bin/python3 tools/bench_torch.py --config CONFIG.json --batch 16 --seq 256 --threads 2 --mode train
    /usr/bin/python3 tools/bench_torch.py --config CONFIG.json --batch 64 --new-tokens 128 --threads 2 --mode decode

train:  forward + loss.backward() of the whole model (MTP modules included when the config has
        them, λ = --mtp-lambda, default 0.3), tokens/s = batch·seq / median seconds per step over
        --steps steps after --warmup steps (best and mean are printed too). No optimizer step.
        --lockstep: one step per line read on stdin, "STEP <seconds>" printed after each.
        --precision bf16: mixed precision as a PyTorch user trains on CPU: the forward (losses
        included) under torch.autocast("cpu", dtype=torch.bfloat16), the backward outside it,
        float32 master weights and gradients. Autocast runs the Linear/matmul/bmm products in
        bf16 (oneDNN's kernels, `"onednn_bf16_isa"` in the output names the ISA it dispatched to)
        and leaves the rest to the operands' dtypes.
decode: greedy batched generation with a naive K/V cache (main model, no MTP): prefill a random
        prompt of --prompt tokens, then --new-tokens one-token steps; tokens/s = batch·new_tokens /
        median decode seconds over --steps runs (prefill excluded).
Prints one JSON line, e.g. {"tokens_per_s": 1234.5, "threads": 2, ...}.
Settings (each set here before torch is imported, unless the caller already set it):
torch.set_num_threads(N), OMP_NUM_THREADS=N, OPENBLAS_NUM_THREADS=N (Debian's torch calls the
system OpenBLAS, pthread build, which ignores torch.set_num_threads), OMP_WAIT_POLICY=PASSIVE,
OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs / Haswell on AVX2 CPUs (OpenBLAS 0.3.21 misdetects
recent Xeons as Prescott), MALLOC_MMAP_MAX_=0 and MALLOC_TRIM_THRESHOLD_=1e11 (glibc keeps freed
tensors' memory; the script re-executes itself once to apply them). HF-style init
(normal(0, initializer_range)), float32 weights.
"""
import argparse
import json
import os
import resource
import sys
import time


def _threads_from_argv():
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


def _openblas_coretype():
    """OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back to its Prescott
    kernels (~6x slower SGEMM). Name the right kernel family unless the caller chose one."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l for l in f if l.startswith("flags")), "").split()
    except OSError:
        return None
    if "avx512f" in flags and "avx512bw" in flags and "avx512vl" in flags:
        return "SkylakeX"
    if "avx2" in flags and "fma" in flags:
        return "Haswell"
    return None


# glibc malloc: keep freed memory in the heap instead of mmap/munmap-ing every large tensor
# (each fresh mapping page-faults on first touch; worth ~20% here). Only settable at process
# start, so re-exec once with the variables set (unless the caller chose them).
if "MALLOC_MMAP_MAX_" not in os.environ and "MALLOC_TRIM_THRESHOLD_" not in os.environ:
    os.environ["MALLOC_MMAP_MAX_"] = "0"
    os.environ["MALLOC_TRIM_THRESHOLD_"] = "100000000000"
    os.execv(sys.executable, [sys.executable] + sys.argv)

# Must be in the environment before torch (and its BLAS) is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", _threads_from_argv())
os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_from_argv())   # torch does not set it
if "OPENBLAS_CORETYPE" not in os.environ and _openblas_coretype():
    os.environ["OPENBLAS_CORETYPE"] = _openblas_coretype()

try:
    import torch  # noqa: E402
except ImportError:
    sys.exit("bench_torch: error: PyTorch is missing; run with Debian's /usr/bin/python3 "
             "(apt-get install python3-torch python3-numpy)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_model  # noqa: E402


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _summary(times, cpus, work):
    """work units (tokens) per second from the median step; best and mean too (the machine may be
    shared: the median resists other processes' bursts). cpu = process CPU seconds per step."""
    ts = sorted(times)
    med = ts[len(ts) // 2] if len(ts) % 2 else 0.5 * (ts[len(ts) // 2 - 1] + ts[len(ts) // 2])
    return {"tokens_per_s": work / med, "tokens_per_s_best": work / ts[0],
            "tokens_per_s_mean": work * len(ts) / sum(ts), "seconds_median": med,
            "cpu_seconds_per_step": sum(cpus) / len(cpus), "steps": len(ts)}


def bench_train(model, args):
    cfg = model.cfg
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, cfg.vocab_size, (args.batch, args.seq), generator=g)
    times, cpus = [], []
    for i in range(args.warmup + args.steps):
        for p in model.parameters():
            p.grad = None
        if args.lockstep:
            print("READY", flush=True)
            if not sys.stdin.readline():
                sys.exit("bench_torch: --lockstep: the controller closed stdin")
        t0, c0 = time.perf_counter(), _cpu()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            out = model(tokens, mtp_lambda=args.mtp_lambda, alpha=args.alpha, want_logits=False)
        out["total_loss"].backward()
        dt, dc = time.perf_counter() - t0, _cpu() - c0
        if args.lockstep:
            print(f"STEP {dt:.6f}", flush=True)
        if i >= args.warmup:
            times.append(dt)
            cpus.append(dc)
    r = _summary(times, cpus, args.batch * args.seq)
    r["loss"] = out["loss"].item()
    return r


def bench_decode(model, args):
    cfg = model.cfg
    g = torch.Generator().manual_seed(1)
    B = args.batch
    prompt = torch.randint(0, cfg.vocab_size, (B, args.prompt), generator=g)
    times, cpus = [], []
    for rep in range(args.warmup + args.steps):
        cache = ref_model.KVCache(cfg, B, args.prompt + args.new_tokens, torch.float32)
        with torch.inference_mode():
            logits = ref_model.forward_cached(model, prompt, cache)
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            t0, c0 = time.perf_counter(), _cpu()
            for _ in range(args.new_tokens):
                logits = ref_model.forward_cached(model, nxt, cache)
                nxt = logits[:, -1].argmax(-1, keepdim=True)
            dt, dc = time.perf_counter() - t0, _cpu() - c0
        if rep >= args.warmup:
            times.append(dt)
            cpus.append(dc)
    r = _summary(times, cpus, B * args.new_tokens)
    r["cpu_seconds_per_run"] = r.pop("cpu_seconds_per_step")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--mode", choices=["train", "decode"], default="train")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256, help="train: tokens per sequence")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--mtp-lambda", type=float, default=0.3)
    ap.add_argument("--alpha", type=float, default=0.0, help="sequence balance loss weight")
    ap.add_argument("--new-tokens", type=int, default=128, help="decode: tokens generated")
    ap.add_argument("--prompt", type=int, default=16, help="decode: prompt length")
    ap.add_argument("--precision", choices=["f32", "bf16"], default="f32",
                    help="train: f32, or bf16 autocast around the forward (fp32 master weights)")
    ap.add_argument("--lockstep", action="store_true",
                    help="train: wait for a line on stdin before each step, print 'STEP <seconds>' "
                         "after it (bench/train_vs_torch.py runs this and ours in turn)")
    args = ap.parse_args()
    if args.lockstep and args.mode != "train":
        ap.error("--lockstep is for --mode train")
    if args.precision != "f32" and args.mode != "train":
        ap.error("--precision is for --mode train")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.config) as f:
        cfg = ref_model.Config(json.load(f))
    model = ref_model.hf_init(ref_model.DeepseekV3(cfg), cfg.raw.get("initializer_range", 0.02))
    model.float()
    if args.mode == "train":
        r = bench_train(model, args)
    else:
        model.requires_grad_(False)
        r = bench_decode(model, args)
    r.update({"threads": args.threads, "mode": args.mode, "batch": args.batch, "precision": args.precision,
              "torch": torch.__version__, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
              "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
              "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
              "malloc_mmap_max": os.environ.get("MALLOC_MMAP_MAX_")})
    if args.mode == "train":
        r["seq"] = args.seq
    else:
        r["new_tokens"] = args.new_tokens
    print(json.dumps(r))


if __name__ == "__main__":
    main()
