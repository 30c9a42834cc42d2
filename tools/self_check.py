"""Self-checks of the PyTorch reference (run by hand; not part of `make test`):

    /usr/bin/python3 tools/self_check.py

 1. philox4x32 known answer (Salmon et al. 2011: key 0, counter 0) and mix64 against src/base/rng.c
    (compiled on the fly with gcc when available) for fixture-init values of several tensors.
 2. An independent, loop-based numpy float64 forward of the spec (per token, per head, per expert;
    no torch) must give the reference's logits, loss, mtp_loss, aux_loss and expert counts.
 3. Autograd gradients of total_loss vs central finite differences in float64 (routing fixed:
    the perturbation is far below the routing margin) on a_plain and c_yarn_mtp.
 4. Router: dropped groups are masked with -inf (a case where HF's 0.0 mask picks a dropped
    expert), lower index wins ties.
 5. The interleaved RoPE gives the same q·k as HF's de-interleave + rotate_half form.
 6. The KV-cache path (prefill, then one token at a time) gives the full forward's logits.
Prints one line per check and exits non-zero on any failure.
"""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures  # noqa: E402
import ref_model as R  # noqa: E402

FAILS = []


def check(name, ok, detail=""):
    print("%s %s %s" % ("PASS" if ok else "FAIL", name, detail))
    if not ok:
        FAILS.append(name)


# ---------------------------------------------------------------- 1. philox / init vs C

def check_philox():
    w = R.philox4x32(0, np.array([0], dtype=np.uint64), 0)
    got = [int(x[0]) for x in w]
    check("philox4x32(0,0,0) known answer", got == [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
          " ".join("%08x" % g for g in got))
    # second vector from the Random123 KAT file: ctr all 0xffffffff, key all 0xffffffff
    w = R.philox4x32(0xFFFFFFFFFFFFFFFF, np.array([0xFFFFFFFFFFFFFFFF], dtype=np.uint64),
                     0xFFFFFFFFFFFFFFFF)
    got = [int(x[0]) for x in w]
    check("philox4x32(ff..) known answer", got == [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
          " ".join("%08x" % g for g in got))
    w = R.philox4x32(0x299f31d0a4093822, np.array([0x85a308d3243f6a88], dtype=np.uint64),
                     0x0370734413198a2e)
    got = [int(x[0]) for x in w]
    check("philox4x32(pi digits) known answer", got == [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
          " ".join("%08x" % g for g in got))


C_PROG = r"""
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include "base/rng.h"
static uint64_t mix64(uint64_t x) {   /* copied from the spec text, checked against rng.c below */
    x += 0x9E3779B97F4A7C15ull; x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull; return x ^ (x >> 31);
}
static uint64_t fnv(const char *s) { uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull; return h; }
int main(int argc, char **argv) {
    uint64_t seed = 1234;
    /* rng_make(seed, p, a, b).key = mix64(mix64(mix64(seed) ^ p) ^ a): check our mix64 copy */
    Rng r = rng_make(seed, RNG_TEST, 77, 0);
    if (r.key != mix64(mix64(mix64(seed) ^ (uint64_t)RNG_TEST) ^ 77)) { printf("MIXFAIL\n"); return 1; }
    for (int i = 1; i < argc; i++) {
        uint64_t key = mix64(fnv(argv[i]) ^ mix64(seed));
        for (uint64_t j = 0; j < 2000; j += 37) {
            uint32_t w[4]; philox4x32(key, j, 0, w);
            printf("%s %llu %u\n", argv[i], (unsigned long long)j, w[0]);
        }
    }
    return 0;
}
"""


def check_init_vs_c():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    names = ["model.embed_tokens.weight", "model.layers.1.self_attn.kv_b_proj.weight",
             "model.layers.2.mlp.gate.e_score_correction_bias", "lm_head.weight"]
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "t.c"), os.path.join(d, "t")
        with open(src, "w") as f:
            f.write(C_PROG)
        cc = subprocess.run(["gcc", "-O1", "-I", os.path.join(root, "src"), src,
                             os.path.join(root, "src/base/rng.c"), os.path.join(root, "src/base/error.c"),
                             "-lm", "-o", exe], capture_output=True, text=True)
        if cc.returncode != 0:
            print("SKIP init vs C (gcc failed: %s)" % cc.stderr.strip().splitlines()[-1:])
            return
        out = subprocess.run([exe] + names, capture_output=True, text=True).stdout.split("\n")
    ok, n = True, 0
    for line in out:
        if not line.strip():
            continue
        if line.startswith("MIXFAIL"):
            ok = False
            continue
        name, j, w = line.split()
        u = R.fixture_uniform(name, 1234, int(j) + 1)[int(j)]
        ok &= (u == int(w) * 2.0 ** -32)
        n += 1
    check("fixture init u_j == C philox (mix64/fnv/philox)", ok and n > 0, "%d values" % n)


# ---------------------------------------------------------------- 2. independent numpy forward

def np_rms(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def np_silu(a):
    return a / (1 + np.exp(-a))


def np_ffn(x, P, pre):
    g = x @ P[pre + ".gate_proj.weight"].T
    u = x @ P[pre + ".up_proj.weight"].T
    return (np_silu(g) * u) @ P[pre + ".down_proj.weight"].T


def np_inv_freq(c):
    """Straight from arch §5 written again (no sharing with ref_model.rope_inv_freq)."""
    dr, th = c["qk_rope_head_dim"], c["rope_theta"]
    base = np.array([th ** (-2.0 * j / dr) for j in range(dr // 2)])
    rs = c.get("rope_scaling")
    if not rs:
        return base, 1.0, 1.0
    s, L0 = rs["factor"], rs["original_max_position_embeddings"]
    cd = lambda r: dr * math.log(L0 / (2 * math.pi * r)) / (2 * math.log(th))  # noqa: E731
    lo, hi = max(math.floor(cd(rs["beta_fast"])), 0), min(math.ceil(cd(rs["beta_slow"])), dr - 1)
    if lo == hi:
        hi += 0.001
    out = []
    for j in range(dr // 2):
        ramp = min(max((j - lo) / (hi - lo), 0.0), 1.0)
        out.append(base[j] / s * ramp + base[j] * (1 - ramp))
    gm = lambda sc, m: 1.0 if sc <= 1 else 0.1 * m * math.log(sc) + 1  # noqa: E731
    m = gm(s, rs["mscale_all_dim"])
    return np.array(out), gm(s, rs["mscale"]) / gm(s, rs["mscale_all_dim"]), m * m


def np_rope(v, pos, inv, msc):
    y = v.copy()
    for j in range(len(inv)):
        a = pos * inv[j]
        cs, sn = math.cos(a) * msc, math.sin(a) * msc
        y[2 * j] = v[2 * j] * cs - v[2 * j + 1] * sn
        y[2 * j + 1] = v[2 * j] * sn + v[2 * j + 1] * cs
    return y


def np_block(x, P, c, l, alpha, counts, auxes):
    """One decoder block over x [B,n,D] (positions 0..n-1)."""
    pre = "model.layers.%d" % l
    eps = c["rms_norm_eps"]
    B, n, D = x.shape
    H, dn, dr, dv, rkv = (c["num_attention_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"],
                          c["v_head_dim"], c["kv_lora_rank"])
    inv, msc, m2 = np_inv_freq(c)
    scale = (dn + dr) ** -0.5 * m2
    h = x.copy()
    for b in range(B):
        xa = np_rms(x[b], P[pre + ".input_layernorm.weight"], eps)
        Q, K, Vv = np.zeros((n, H, dn + dr)), np.zeros((n, H, dn + dr)), np.zeros((n, H, dv))
        for t in range(n):
            if c["q_lora_rank"]:
                cq = np_rms(P[pre + ".self_attn.q_a_proj.weight"] @ xa[t],
                            P[pre + ".self_attn.q_a_layernorm.weight"], eps)
                q = P[pre + ".self_attn.q_b_proj.weight"] @ cq
            else:
                q = P[pre + ".self_attn.q_proj.weight"] @ xa[t]
            a = P[pre + ".self_attn.kv_a_proj_with_mqa.weight"] @ xa[t]
            lat = np_rms(a[:rkv], P[pre + ".self_attn.kv_a_layernorm.weight"], eps)
            kpe = np_rope(a[rkv:], t, inv, msc)
            kv = P[pre + ".self_attn.kv_b_proj.weight"] @ lat
            for hh in range(H):
                qh = q[hh * (dn + dr):(hh + 1) * (dn + dr)]
                Q[t, hh] = np.concatenate([qh[:dn], np_rope(qh[dn:], t, inv, msc)])
                kvh = kv[hh * (dn + dv):(hh + 1) * (dn + dv)]
                K[t, hh] = np.concatenate([kvh[:dn], kpe])
                Vv[t, hh] = kvh[dn:]
        O = np.zeros((n, H * dv))
        for t in range(n):
            for hh in range(H):
                sc = np.array([Q[t, hh] @ K[s, hh] * scale for s in range(t + 1)])
                p = np.exp(sc - sc.max())
                p /= p.sum()
                O[t, hh * dv:(hh + 1) * dv] = sum(p[s] * Vv[s, hh] for s in range(t + 1))
        h[b] = x[b] + O @ P[pre + ".self_attn.o_proj.weight"].T
    out = h.copy()
    moe = c["n_routed_experts"] > 0 and l >= c["first_k_dense_replace"]
    E, Kk = c["n_routed_experts"], c["num_experts_per_tok"]
    if moe:
        counts[l] = np.zeros(E)
        aux = 0.0
    for b in range(B):
        xf = np_rms(h[b], P[pre + ".post_attention_layernorm.weight"], eps)
        if not moe:
            out[b] = h[b] + np_ffn(xf, P, pre + ".mlp")
            continue
        G, Gk = c["n_group"], c["topk_group"]
        f = np.zeros(E)
        Pm = np.zeros(E)
        for t in range(n):
            s = 1 / (1 + np.exp(-(P[pre + ".mlp.gate.weight"] @ xf[t])))
            cb = s + P[pre + ".mlp.gate.e_score_correction_bias"]
            gsz = E // G
            gscore = [sum(sorted(cb[g * gsz:(g + 1) * gsz])[-2:]) for g in range(G)]
            kept = sorted(range(G), key=lambda g: (-gscore[g], g))[:Gk]
            cand = [e for e in range(E) if e // gsz in kept]
            sel = sorted(cand, key=lambda e: (-cb[e], e))[:Kk]
            w = s[sel] / s[sel].sum() * c["routed_scaling_factor"]
            y = np_ffn(xf[t], P, pre + ".mlp.shared_experts")
            for e, we in zip(sel, w):
                y = y + we * np_ffn(xf[t], P, pre + ".mlp.experts.%d" % e)
                counts[l][e] += 1
                f[e] += 1
            Pm += s / s.sum()
            out[b, t] = h[b, t] + y
        aux += alpha * ((E / (Kk * n)) * f * (Pm / n)).sum() / B
    if moe:
        auxes.append(aux)
    return out


def np_forward(c, P, tokens, lam, alpha):
    B, T = tokens.shape
    L, Mt, V = c["num_hidden_layers"], c["num_nextn_predict_layers"] or 0, c["vocab_size"]
    eps = c["rms_norm_eps"]
    emb = P["model.embed_tokens.weight"]
    h = emb[tokens]
    counts, auxes = {}, []
    for l in range(L):
        h = np_block(h, P, c, l, alpha, counts, auxes)
    hf = np_rms(h, P["model.norm.weight"], eps)
    logits = hf @ P["lm_head.weight"].T

    def nll(lg, tgt):
        m = lg.max(-1, keepdims=True)
        lse = (m + np.log(np.exp(lg - m).sum(-1, keepdims=True)))[..., 0]
        return lse - np.take_along_axis(lg, tgt[..., None], -1)[..., 0]

    loss = nll(logits[:, :-1], tokens[:, 1:]).mean()
    hp, mtp = hf, 0.0
    for k in range(1, Mt + 1):
        l = L + k - 1
        pre = "model.layers.%d" % l
        n = T - k
        xin = np.concatenate([np_rms(emb[tokens[:, k:k + n]], P[pre + ".enorm.weight"], eps),
                              np_rms(hp[:, :n], P[pre + ".hnorm.weight"], eps)], -1)
        x = xin @ P[pre + ".eh_proj.weight"].T
        hk = np_block(x, P, c, l, alpha, counts, auxes)
        lg = np_rms(hk[:, :n - 1], P[pre + ".shared_head.norm.weight"], eps) @ P["lm_head.weight"].T
        mtp += nll(lg, tokens[:, k + 1:]).sum() / (B * (T - 1))
        hp = hk
    mtp = lam / Mt * mtp if Mt else 0.0
    aux = sum(auxes)
    return dict(logits=logits, loss=loss, mtp_loss=mtp, aux_loss=aux, total_loss=loss + mtp + aux,
                counts=counts)


def check_independent(name):
    spec = make_fixtures.FIXTURES[name]
    c = spec["config"]
    cfg = R.Config(c)
    B, T = spec["batch"], spec["seq"]
    P = {n: R.fixture_tensor(n, s, spec["seed"]).astype(np.float64) for n, s in R.param_shapes(cfg)}
    tok = R.fixture_tokens(spec["seed"], B, T, cfg.vocab_size)
    ref = np_forward(c, P, tok, spec["mtp_lambda"], spec["alpha"])
    model = R.build_fixture_model(cfg, spec["seed"])
    with torch.no_grad():
        out = model(torch.from_numpy(tok), mtp_lambda=spec["mtp_lambda"], alpha=spec["alpha"])
    err = np.abs(out["logits"].numpy() - ref["logits"]).max()
    ok = err < 1e-10
    det = ["logits %.1e" % err]
    for k in ("loss", "mtp_loss", "aux_loss", "total_loss"):
        e = abs(out[k].item() - float(ref[k]))
        ok &= e < 1e-10
        det.append("%s %.1e" % (k, e))
    for l, cnt in ref["counts"].items():
        ok &= np.array_equal(out["counts"][l].numpy(), cnt)
    ok &= set(ref["counts"]) == set(out["counts"])
    check("independent numpy forward == reference (%s)" % name, ok, " ".join(det))


# ---------------------------------------------------------------- 3. finite differences

def check_fd(name, n_params=10, n_idx=3):
    spec = make_fixtures.FIXTURES[name]
    cfg = R.Config(spec["config"])
    B, T = spec["batch"], spec["seq"]
    model = R.build_fixture_model(cfg, spec["seed"])
    tok = torch.from_numpy(R.fixture_tokens(spec["seed"], B, T, cfg.vocab_size))
    kw = dict(mtp_lambda=spec["mtp_lambda"], alpha=spec["alpha"], want_logits=False)
    model(tok, **kw)["total_loss"].backward()
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    rng = np.random.RandomState(7)
    picks = [params[i] for i in rng.choice(len(params), n_params, replace=False)]
    # always include a few important ones
    must = ["model.embed_tokens.weight", "lm_head.weight", "model.layers.1.mlp.gate.weight"]
    if cfg.num_nextn_predict_layers:
        must += ["model.layers.%d.eh_proj.weight" % cfg.num_hidden_layers,
                 "model.layers.%d.mlp.gate.weight" % (cfg.num_hidden_layers + 1),
                 "model.layers.%d.self_attn.kv_a_proj_with_mqa.weight" % (cfg.num_hidden_layers + 1)]
    byname = dict(params)
    picks += [(m, byname[m]) for m in must if m not in dict(picks)]
    worst, n_checked, gmax = 0.0, 0, 0.0
    h = 1e-5
    for n, p in picks:
        g = p.grad.reshape(-1)
        flat = p.data.view(-1)
        # largest-gradient entry plus random ones
        idx = [int(g.abs().argmax())] + list(rng.choice(flat.numel(), n_idx, replace=False))
        for i in idx:
            old = flat[i].item()
            with torch.no_grad():
                flat[i] = old + h
                lp = model(tok, **kw)["total_loss"].item()
                flat[i] = old - h
                lm = model(tok, **kw)["total_loss"].item()
                flat[i] = old
            fd = (lp - lm) / (2 * h)
            ga = g[i].item()
            worst = max(worst, abs(fd - ga) / (abs(fd) + abs(ga) + 1e-6))
            gmax = max(gmax, abs(ga))
            n_checked += 1
            if i == idx[0] and n == picks[0][0]:
                # the check must be able to fail: a 1% wrong gradient is caught
                bad = ga * 1.01
                caught = abs(fd - bad) / (abs(fd) + abs(bad) + 1e-6) > 1e-4
    check("autograd vs finite differences (%s, %d entries of %d tensors)" % (name, n_checked, len(picks)),
          worst < 1e-5 and caught, "worst rel err %.2e (max |g| %.2e); 1%%-wrong grad caught: %s"
          % (worst, gmax, caught))


# ---------------------------------------------------------------- 4. router

def check_router():
    cfg = R.Config(make_fixtures.FIXTURES["c_yarn_mtp"]["config"])    # E 8, G 4, Gk 2, K 3
    # group scores (top-2 sums of s+b): g0 = 0.2+0.2, g1 = 0.1+0.1 -> kept; g2, g3 dropped.
    # Bias makes one expert of each kept group negative, so only 2 finite candidates survive
    # outside... kept groups hold 4 experts: biased [0.5,-0.3 | 0.4,-0.2], dropped [-0.1,...].
    # K=3 must still take the negative kept expert (-0.2), never a dropped one (HF's 0.0 mask
    # would take a dropped expert whose biased score -0.1 > -0.2 ... after masking to 0.0 any
    # dropped expert scores 0.0 > -0.2).
    s = torch.tensor([[0.6, 0.5, 0.6, 0.5, 0.55, 0.5, 0.5, 0.5]], dtype=torch.float64)
    b = torch.tensor([-0.1, -0.8, -0.2, -0.7, -0.5, -0.7, -0.6, -0.75], dtype=torch.float64)
    c = s + b      # [0.5,-0.3, 0.4,-0.2, 0.05,-0.2, -0.1,-0.25] -> group sums 0.2, 0.2, -0.15, -0.35
    sel = R.route(s, b, cfg)[0].tolist()
    hf_c = c.clone()
    hf_c[0, 4:] = 0.0
    hf_sel = torch.topk(hf_c, 3, dim=-1).indices[0].tolist()
    check("router: dropped groups masked with -inf", sorted(sel) == [0, 2, 3] and
          any(e >= 4 for e in hf_sel), "ours %s, HF-0.0-mask %s" % (sel, hf_sel))
    # ties: all equal -> lowest groups, lowest experts
    s = torch.full((1, 8), 0.5, dtype=torch.float64)
    b = torch.zeros(8, dtype=torch.float64)
    sel = R.route(s, b, cfg)[0].tolist()
    check("router: ties -> lower index wins", sel == [0, 1, 2], str(sel))
    # bias changes selection but not the weights: weights come from unbiased s
    cfg1 = R.Config(make_fixtures.FIXTURES["a_plain"]["config"])
    moe = R.MoE(cfg1).double()
    for p in moe.parameters():
        torch.nn.init.normal_(p, 0, 0.1)
    x = torch.randn(1, 1, cfg1.hidden_size, dtype=torch.float64)
    with torch.no_grad():
        moe.gate.e_score_correction_bias.copy_(torch.tensor([5.0, 5.0, 0, 0]))
        moe.gate.weight.zero_()
        moe.gate.weight[2:] = 1.0      # experts 2,3 have the larger unbiased scores
        st = {}
        moe(x, st)
    check("router: bias selects (experts 0,1 forced)", st["counts"][0].tolist() == [1, 1, 0, 0],
          str(st["counts"][0].tolist()))


# ---------------------------------------------------------------- 5. RoPE vs HF form

def check_rope_hf():
    cfg = R.Config(make_fixtures.FIXTURES["c_yarn_mtp"]["config"])
    rope = R.Rope(cfg, 32, torch.float64)
    dr = cfg.qk_rope_head_dim
    q = torch.randn(20, 1, dr, dtype=torch.float64)
    k = torch.randn(20, 1, dr, dtype=torch.float64)
    ours_q = R._rot(q, rope.cos[:20, None], rope.sin[:20, None])
    ours_k = R._rot(k, rope.cos[:20, None], rope.sin[:20, None])

    def hf(x):   # de-interleave, then NEOX rotate_half with cat(cos, cos)
        x = x.view(20, 1, dr // 2, 2).transpose(-1, -2).reshape(20, 1, dr)
        cos = torch.cat([rope.cos[:20], rope.cos[:20]], -1)[:, None]
        sin = torch.cat([rope.sin[:20], rope.sin[:20]], -1)[:, None]
        x1, x2 = x[..., :dr // 2], x[..., dr // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    a = ours_q[:, 0] @ ours_k[:, 0].T
    bb = hf(q)[:, 0] @ hf(k)[:, 0].T
    check("RoPE interleaved q·k == HF de-interleave+rotate_half", torch.allclose(a, bb, atol=1e-12))
    inv, msc = R.rope_inv_freq(cfg)
    check("YaRN c_yarn_mtp: ramp has an interior point", abs(inv[1] - (10 ** (-2 / 8)) * (0.5 / 4 + 0.5)) < 1e-15
          and abs(inv[0] - 1.0) < 1e-15 and msc == 1.0, "inv_freq %s" % np.array2string(inv, precision=6))


# ---------------------------------------------------------------- 6. KV-cache decode

def check_decode(name):
    spec = make_fixtures.FIXTURES[name]
    cfg = R.Config(spec["config"])
    B, T = spec["batch"], spec["seq"]
    model = R.build_fixture_model(cfg, spec["seed"])
    tok = torch.from_numpy(R.fixture_tokens(spec["seed"], B, T, cfg.vocab_size))
    with torch.no_grad():
        full = model(tok)["logits"]
    cache = R.KVCache(cfg, B, T, torch.float64)
    p = T // 3
    parts = [R.forward_cached(model, tok[:, :p], cache)]            # prefill
    for t in range(p, T):
        parts.append(R.forward_cached(model, tok[:, t:t + 1], cache))
    inc = torch.cat(parts, 1)
    err = (inc - full).abs().max().item()
    check("KV-cache prefill + decode logits == full forward (%s)" % name, err < 1e-12, "max err %.1e" % err)


def main():
    torch.set_num_threads(1)
    check_decode("a_plain")
    check_decode("c_yarn_mtp")
    check_philox()
    check_init_vs_c()
    check_router()
    check_rope_hf()
    for name in ("a_plain", "c_yarn_mtp"):
        check_independent(name)
    for name in ("a_plain", "c_yarn_mtp"):
        check_fd(name)
    print("%d failed" % len(FAILS))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
