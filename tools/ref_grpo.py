#!/usr/bin/python3
"""PyTorch reference of GRPO's loss variants (written after TRL's GRPOTrainer._compute_loss and the
formulas of r1-recipe.md §2), used to write tests/fixtures/grpo/cases.json for tests/test_grpo_loss.c.

The gradient is torch autograd's, so the C code's hand-derived dL/dlogp is checked against an
independent derivation. Usage: /usr/bin/python3 tools/ref_grpo.py [--out FILE]
"""
import argparse
import json

import torch

torch.set_default_dtype(torch.float64)


def advantages(rewards, G, scaling, eps=1e-4):
    r = rewards.view(-1, G)
    mean = r.mean(dim=1, keepdim=True)
    if scaling == "group":
        std = r.std(dim=1, keepdim=True)
        adv = (r - mean) / (std + eps)
    elif scaling == "batch":
        adv = (r - mean) / (rewards.std() + eps)
    else:
        adv = r - mean
    equal = (r == r[:, :1]).all(dim=1, keepdim=True)
    adv = torch.where(equal, torch.zeros_like(adv), adv)
    return adv.reshape(-1)


def loss_fn(logp, old, ref, mask, adv, loss_type, eps_low, eps_high, beta, n_seq_total,
            n_tokens_total, max_len):
    """logp, old, ref, mask: [S, T] padded; adv: [S]."""
    ratio = torch.exp(logp - old)
    clipped = torch.clamp(ratio, 1 - eps_low, 1 + eps_high)
    a = adv.unsqueeze(1)
    per_token = -torch.min(ratio * a, clipped * a)
    if beta != 0:
        kl = torch.exp(ref - logp) - (ref - logp) - 1
        per_token = per_token + beta * kl
    per_token = per_token * mask
    if loss_type == "grpo":
        lens = mask.sum(dim=1)
        per_seq = torch.where(lens > 0, per_token.sum(dim=1) / lens.clamp(min=1), torch.zeros_like(lens))
        return per_seq.sum() / n_seq_total
    if loss_type == "bnpo":
        return per_token.sum() / mask.sum().clamp(min=1)
    if loss_type == "dapo":
        return per_token.sum() / n_tokens_total
    if loss_type == "dr_grpo":
        return per_token.sum() / (n_seq_total * max_len)
    raise ValueError(loss_type)


def make_case(seed, loss_type, scaling, beta, eps_low, eps_high, n_groups=3, G=4, max_t=7):
    g = torch.Generator().manual_seed(seed)
    S = n_groups * G
    lens = torch.randint(1, max_t + 1, (S,), generator=g)
    T = max_t
    mask = torch.zeros(S, T)
    for i in range(S):
        mask[i, : lens[i]] = 1
        if i % 5 == 2 and lens[i] > 2:
            mask[i, 1] = 0  # a masked token inside a sequence
    old = -torch.rand(S, T, generator=g) * 3
    # ratios spread over [0.5, 1.6] so both clip sides are exercised
    logp = old + (torch.rand(S, T, generator=g) - 0.45) * 0.9
    ref = old + (torch.rand(S, T, generator=g) - 0.5) * 0.6
    rewards = torch.randint(0, 3, (S,), generator=g).double() * 0.5
    rewards[G:2 * G] = 1.0  # one zero-variance group
    adv = advantages(rewards, G, scaling)
    n_tokens_total = int(mask.sum().item()) + 5  # as if other micro-batches existed
    n_seq_total = S + 2
    lp = logp.clone().requires_grad_(True)
    loss = loss_fn(lp, old, ref, mask, adv, loss_type, eps_low, eps_high, beta, n_seq_total,
                   n_tokens_total, T)
    loss.backward()
    # flatten to the C layout: each sequence's tokens contiguous, padded to T
    start = [i * T for i in range(S + 1)]
    return {
        "loss_type": loss_type, "scaling": scaling, "beta": beta, "eps_low": eps_low,
        "eps_high": eps_high, "G": G, "n_groups": n_groups, "n_seq_total": n_seq_total,
        "n_tokens_total": n_tokens_total, "max_len": T, "start": start,
        "rewards": rewards.tolist(), "adv": adv.tolist(),
        "logp": logp.reshape(-1).tolist(), "old_logp": old.reshape(-1).tolist(),
        "ref_logp": ref.reshape(-1).tolist(), "mask": mask.reshape(-1).tolist(),
        "loss": loss.item(), "dlogp": lp.grad.reshape(-1).tolist(),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/grpo/cases.json")
    args = ap.parse_args()
    cases = []
    seed = 1
    for loss_type in ["grpo", "bnpo", "dapo", "dr_grpo"]:
        for scaling, beta, eps_high in [("group", 0.0, 0.2), ("batch", 0.04, 0.28), ("none", 0.001, 0.2)]:
            cases.append(make_case(seed, loss_type, scaling, beta, 0.2, eps_high))
            seed += 1
    # float32 inputs are what C reads: round them so both sides see identical inputs
    for c in cases:
        for k in ["logp", "old_logp", "ref_logp"]:
            c[k] = [float(torch.tensor(v, dtype=torch.float32)) for v in c[k]]
    # recompute with the rounded inputs
    out = []
    for c in cases:
        S = c["G"] * c["n_groups"]
        T = c["max_len"]
        lp = torch.tensor(c["logp"]).view(S, T).requires_grad_(True)
        old = torch.tensor(c["old_logp"]).view(S, T)
        ref = torch.tensor(c["ref_logp"]).view(S, T)
        mask = torch.tensor(c["mask"]).view(S, T)
        adv = torch.tensor(c["adv"])
        loss = loss_fn(lp, old, ref, mask, adv, c["loss_type"], c["eps_low"], c["eps_high"],
                       c["beta"], c["n_seq_total"], c["n_tokens_total"], T)
        loss.backward()
        c["loss"] = loss.item()
        c["dlogp"] = lp.grad.reshape(-1).tolist()
        out.append(c)
    with open(args.out, "w") as f:
        json.dump({"generator": "tools/ref_grpo.py", "torch": torch.__version__, "cases": out}, f)
    print(f"wrote {len(out)} cases to {args.out}")


if __name__ == "__main__":
    main()
