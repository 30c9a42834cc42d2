"""Reference for the training loop: ten AdamW steps of the PyTorch reference model, exactly as
`r1 pretrain` runs them, written to tests/fixtures/train/ (config.json + ref.json).

    /usr/bin/python3 tools/ref_train.py [--out tests/fixtures/train]

What it reproduces of src/train (pretrain.c, loader.c, adamw.c, schedule.c, clip.c):
  * data: a token stream cut into sequences of T+1 tokens (sequence i = tok[i·T .. i·T+T]);
    each epoch's order is a Fisher–Yates shuffle drawn from rng_make(seed, RNG_DATA, epoch, 0)
    (Philox4x32-10 as src/base/rng.c; rng_below rejects the biased tail); no held-out split;
  * each step: grad_accum micro-batches of B sequences; J = Σ_micro total_loss / grad_accum
    (total = main CE mean + MTP loss, seq-aux off); global grad norm over the trainable
    parameters (the router bias has no gradient), clip factor max/(norm+1e-6) when above;
    torch.optim.AdamW (decoupled decay; norms and the embedding in a no-decay group);
    lr = linear warm-up then cosine to lr·min_ratio (schedule.c);
  * then the auxiliary-loss-free bias update b += γ·sign(mean(c) − c) with the expert counts
    summed over the step's micro-batches.
The model runs in float64 on the fixture-init parameters (ref_model.build_fixture_model).
Expert counts are taken from a forward over the T input positions only (the C model sees T
inputs; the loss forward here sees T+1 tokens, whose last position only supplies targets).
"""
import argparse
import json
import math
import os
import sys
from collections import OrderedDict

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_model  # noqa: E402
from ref_rng import Stream  # noqa: E402
from make_fixtures import tiny_config  # noqa: E402

M64 = (1 << 64) - 1
RNG_DATA = 2

CONFIG = tiny_config(vocab_size=48, q_lora_rank=16, num_nextn_predict_layers=1)

OPTIONS = OrderedDict([
    ("steps", 10), ("batch", 3), ("seq_len", 12), ("grad_accum", 2), ("lr", 0.01),
    ("warmup", 3), ("min_lr_ratio", 0.1), ("beta1", 0.9), ("beta2", 0.95), ("eps", 1e-8),
    ("weight_decay", 0.1), ("clip", 1.0), ("mtp_lambda", 0.3), ("bias_update_speed", 0.01),
    ("seed", 7), ("init_seed", 1234), ("n_train", 25),
])


# ---- src/base/rng.c: rng_make / rng_u32 / rng_u64 / rng_below (tools/ref_rng.py) ----

Rng = Stream


def epoch_order(seed, epoch, n):
    v = list(range(n))
    r = Rng(seed, RNG_DATA, epoch, 0)
    for i in range(n, 1, -1):
        j = r.below(i)
        v[i - 1], v[j] = v[j], v[i - 1]
    return v


def schedule_lr(o, step):
    lr, warm, total = o["lr"], o["warmup"], o["steps"]
    if warm > 0 and step < warm:
        return lr * (step + 1) / warm
    lo = lr * o["min_lr_ratio"]
    span = total - 1 - warm
    if span <= 0:
        return lr
    p = min(1.0, (step - warm) / span)
    return lo + (lr - lo) * 0.5 * (1 + math.cos(math.pi * p))


def stream_tokens(seed, n, V):
    """Token i = floor(u·V), u from Philox keyed by fnv("train_tokens") (like fixture_tokens)."""
    key = ref_model.mix64(ref_model.fnv1a64("train_tokens") ^ ref_model.mix64(seed))
    w0 = ref_model.philox4x32(key, np.arange(n, dtype=np.uint64), 0)[0]
    return np.floor(w0.astype(np.float64) * 2.0 ** -32 * V).astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "train"))
    args = ap.parse_args()
    o = OPTIONS
    cfg = ref_model.Config(CONFIG)
    B, T, A = o["batch"], o["seq_len"], o["grad_accum"]
    n_tokens = o["n_train"] * T + 1
    tok = stream_tokens(o["seed"], n_tokens, cfg.vocab_size)
    torch.manual_seed(0)
    model = ref_model.build_fixture_model(cfg, o["init_seed"], torch.float64)
    named = OrderedDict(model.named_parameters())
    decay, no_decay = [], []
    for name, p in named.items():
        if not p.requires_grad:
            continue
        if name.endswith("norm.weight") or name.endswith("embed_tokens.weight"):
            no_decay.append(p)
        else:
            decay.append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": o["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"])
    biases = OrderedDict((n, p) for n, p in named.items() if n.endswith("e_score_correction_bias"))
    epoch, pos, order = 0, 0, epoch_order(o["seed"], 0, o["n_train"])
    steps = []
    for s in range(o["steps"]):
        opt.zero_grad(set_to_none=False)
        loss = mtp = 0.0
        counts = {}
        for _ in range(A):
            seqs = []
            for _ in range(B):
                if pos >= o["n_train"]:
                    epoch, pos = epoch + 1, 0
                    order = epoch_order(o["seed"], epoch, o["n_train"])
                i = order[pos]
                pos += 1
                seqs.append(tok[i * T: i * T + T + 1])
            x = torch.from_numpy(np.stack(seqs))
            out = model(x, mtp_lambda=o["mtp_lambda"], alpha=0.0, want_logits=False)
            (out["total_loss"] / A).backward()
            loss += out["loss"].item() / A
            mtp += out["mtp_loss"].item() / A
            with torch.no_grad():
                c = model(x[:, :T], mtp_lambda=o["mtp_lambda"], alpha=0.0, want_logits=False)["counts"]
            for l, v in c.items():
                counts[l] = counts.get(l, 0) + v.numpy().astype(np.int64)
        grads = [p.grad.reshape(-1) for p in decay + no_decay]
        norm = torch.sqrt(sum((g * g).sum() for g in grads)).item()
        cf = o["clip"] / (norm + 1e-6) if norm > o["clip"] else 1.0
        for p in decay + no_decay:
            p.grad.mul_(cf)
        lr = schedule_lr(o, s)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        with torch.no_grad():
            for name, b in biases.items():
                l = int(name.split(".")[2])
                cnt = counts[l].astype(np.float64)
                d = cnt.mean() - cnt
                b.add_(torch.from_numpy(o["bias_update_speed"] * np.sign(d)))
        steps.append(OrderedDict([("step", s + 1), ("loss", loss), ("mtp_loss", mtp), ("lr", lr),
                                  ("grad_norm", norm), ("clipped", norm > o["clip"])]))
        print("step %2d loss %.6f mtp %.6f norm %.4f lr %.5f" % (s + 1, loss, mtp, norm, lr))
    final_bias = OrderedDict((n, b.detach().numpy().tolist()) for n, b in biases.items())
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=1)
    ref = OrderedDict([("options", o), ("tokens", tok.tolist()), ("steps", steps),
                       ("final_router_bias", final_bias)])
    with open(os.path.join(args.out, "ref.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
