"""Our PyTorch reference of the DeepSeek-V3 model (forward, losses; backward via autograd).

Used two ways:
  * make_fixtures.py runs it in float64 on the deterministic "fixture init" parameters to write
    the targets the C tests compare against (tests/fixtures/model/*);
  * bench_torch.py runs it in float32 as the speed reference of `make bench`.
Parameters are named exactly as in Hugging Face checkpoints (named_parameters() gives
`model.layers.3.mlp.experts.7.up_proj.weight`, ...). The maths follows
shared/reference/deepseek-v3-architecture.md (beside the repository) and tools/README.md (Fixture format).

Dimension legend: B batch, T tokens, D hidden, H heads, Dn/Dr/Dv head dims, Rq/Rkv ranks,
E routed experts, K experts per token, G groups, Gk kept groups, V vocab, L layers, M MTP modules.

Choices where the spec leaves room (also reported to the C side):
  1. Parameters: fixture-init values are computed in float64 then ROUNDED TO FLOAT32 (what an F32
     checkpoint / the C float build holds); the fixture forward/backward then runs in float64 on
     those float32-representable values.
  2. Every RMSNorm (q_a_layernorm and kv_a_layernorm included) uses config rms_norm_eps.
  3. `e_score_correction_bias` is an nn.Parameter with requires_grad=False: it counts in
     param_count and the fixtures hold its gradient as zeros (grad.* / grad_sample.* / grad_norm.*).
     param_count = sum of numel over the parameter table (bias included, the MTP copies of
     embed_tokens / shared_head.head excluded, as they are not parameters).
  4. Router: s = sigmoid(x·W_gateᵀ) in the model dtype; selection on s + bias; group score = sum of
     the top-2 biased scores of the group; kept groups = the Gk best (lower group index wins ties);
     dropped groups masked with -inf; top-K by a stable descending sort (lower expert index wins
     ties); weights = s (unbiased) / Σ_selected s (no 1e-20 term) × routed_scaling_factor when
     norm_topk_prob, else s × routed_scaling_factor. Selection is constant for autograd.
  5. YaRN is active iff rope_scaling.type == "yarn" (the HF rule); `factor` is read from the key
     (never recomputed from max_position_embeddings); low/high = floor/ceil clamped to [0, Dr-1],
     high += 0.001 when equal; cos/sin × get_mscale(factor, mscale)/get_mscale(factor,
     mscale_all_dim); softmax scale (Dn+Dr)^-1/2 · m² with m = 0.1·mscale_all_dim·ln(factor)+1
     when factor > 1 and mscale_all_dim != 0. Angles pos·inv_freq are computed in float64.
  6. MTP module k attends causally over its T−k positions with RoPE positions 0..T−k−1.
  7. Sequence balance loss f_i uses the experts actually selected (biased, group-limited).
  8. Fixture tokens: t[b, i] = floor(u · V), u = philox4x32(key, b·T + i, 0)[0]·2^-32 with
     key = mix64(fnv("tokens") ^ mix64(seed)) — stored in the fixture anyway.
"""
import math
import os
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

M64 = (1 << 64) - 1


# ---------------------------------------------------------------- deterministic fixture init

def fnv1a64(s):
    h = 0xcbf29ce484222325
    for byte in s.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001b3) & M64
    return h


def mix64(x):
    """SplitMix64 finaliser, exactly src/base/rng.c mix64 (Python ints, mod 2^64)."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def philox4x32(key, ctr_lo, ctr_hi=0):
    """Vectorised Philox4x32-10 exactly as src/base/rng.c. key: int; ctr_lo: uint64 array or int.
    Returns 4 uint32 arrays."""
    M32 = np.uint64(0xFFFFFFFF)
    lo = np.asarray(ctr_lo, dtype=np.uint64)
    hi = np.uint64(ctr_hi)
    c0 = lo & M32
    c1 = lo >> np.uint64(32)
    c2 = np.full_like(lo, hi & M32)
    c3 = np.full_like(lo, hi >> np.uint64(32))
    k0 = key & 0xFFFFFFFF
    k1 = (key >> 32) & 0xFFFFFFFF
    A = np.uint64(0xD2511F53)
    Bm = np.uint64(0xCD9E8D57)
    s32 = np.uint64(32)
    for _ in range(10):
        p0 = A * c0           # < 2^64: exact in uint64
        p1 = Bm * c2
        n0 = (p1 >> s32) ^ c1 ^ np.uint64(k0)
        n1 = p1 & M32
        n2 = (p0 >> s32) ^ c3 ^ np.uint64(k1)
        n3 = p0 & M32
        c0, c1, c2, c3 = n0, n1, n2, n3
        k0 = (k0 + 0x9E3779B9) & 0xFFFFFFFF
        k1 = (k1 + 0xBB67AE85) & 0xFFFFFFFF
    return [c.astype(np.uint32) for c in (c0, c1, c2, c3)]


def fixture_uniform(name, seed, n):
    """u_j in [0,1), j = 0..n-1, for tensor NAME (float64)."""
    key = mix64(fnv1a64(name) ^ mix64(seed & M64))
    w0 = philox4x32(key, np.arange(n, dtype=np.uint64), 0)[0]
    return w0.astype(np.float64) * (2.0 ** -32)


def fixture_base_scale(name, shape):
    if name.endswith("norm.weight"):
        return 1.0, 0.2
    if name.endswith("e_score_correction_bias"):
        return 0.0, 0.1
    if name.endswith(".bias"):
        return 0.0, 0.5
    if name == "model.embed_tokens.weight":
        return 0.0, 1.0
    return 0.0, 1.0 / math.sqrt(shape[1])


def fixture_tensor(name, shape, seed):
    """value_j = base + scale·(2u_j − 1), rounded to float32 (tools/README.md, Fixture format)."""
    n = int(np.prod(shape))
    base, scale = fixture_base_scale(name, shape)
    u = fixture_uniform(name, seed, n)
    return (base + scale * (2.0 * u - 1.0)).astype(np.float32).reshape(shape)


def fixture_tokens(seed, B, T, V):
    key = mix64(fnv1a64("tokens") ^ mix64(seed & M64))
    w0 = philox4x32(key, np.arange(B * T, dtype=np.uint64), 0)[0]
    u = w0.astype(np.float64) * (2.0 ** -32)
    return np.floor(u * V).astype(np.int64).reshape(B, T)


# ---------------------------------------------------------------- config

class Config:
    """The HF config.json keys the model needs (defaults as HF DeepseekV3Config)."""

    def __init__(self, d):
        g = d.get
        self.raw = dict(d)
        self.vocab_size = d["vocab_size"]
        self.hidden_size = d["hidden_size"]
        self.intermediate_size = g("intermediate_size", 0)
        self.moe_intermediate_size = g("moe_intermediate_size", 0)
        self.num_hidden_layers = d["num_hidden_layers"]
        self.num_attention_heads = d["num_attention_heads"]
        self.n_shared_experts = g("n_shared_experts", 0) or 0
        self.n_routed_experts = g("n_routed_experts", 0) or 0
        self.routed_scaling_factor = float(g("routed_scaling_factor", 1.0))
        self.kv_lora_rank = d["kv_lora_rank"]
        self.q_lora_rank = g("q_lora_rank")          # None: a single q_proj
        self.qk_rope_head_dim = d["qk_rope_head_dim"]
        self.qk_nope_head_dim = d["qk_nope_head_dim"]
        self.v_head_dim = d["v_head_dim"]
        self.topk_method = g("topk_method", "noaux_tc")
        self.n_group = g("n_group", 1) or 1
        self.topk_group = g("topk_group", 1) or 1
        self.num_experts_per_tok = g("num_experts_per_tok", 1)
        self.first_k_dense_replace = g("first_k_dense_replace", 0)
        self.moe_layer_freq = g("moe_layer_freq", 1)
        self.norm_topk_prob = bool(g("norm_topk_prob", True))
        self.scoring_func = g("scoring_func", "sigmoid")
        self.rms_norm_eps = float(g("rms_norm_eps", 1e-6))
        self.rope_theta = float(g("rope_theta", 10000.0))
        self.rope_scaling = g("rope_scaling") or g("rope_parameters")
        self.max_position_embeddings = g("max_position_embeddings", 4096)
        self.num_nextn_predict_layers = g("num_nextn_predict_layers", 0) or 0
        assert self.scoring_func == "sigmoid" and self.topk_method == "noaux_tc"
        assert self.moe_layer_freq == 1
        assert not g("tie_word_embeddings", False)

    def is_moe_layer(self, l):
        return self.n_routed_experts > 0 and l >= self.first_k_dense_replace and l % self.moe_layer_freq == 0

    @property
    def qk_head_dim(self):
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    def yarn(self):
        rs = self.rope_scaling
        if rs and (rs.get("type") or rs.get("rope_type")) == "yarn":
            return rs
        return None


def yarn_get_mscale(scale, mscale):
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def rope_inv_freq(cfg):
    """[Dr/2] float64 inverse frequencies, YaRN-blended when configured (arch §5)."""
    dim, base = cfg.qk_rope_head_dim, cfg.rope_theta
    j = np.arange(dim // 2, dtype=np.float64)
    freq = base ** (-2.0 * j / dim)
    rs = cfg.yarn()
    if rs is None:
        return freq, 1.0
    s = float(rs["factor"])
    L0 = float(rs["original_max_position_embeddings"])
    beta_fast, beta_slow = float(rs.get("beta_fast", 32)), float(rs.get("beta_slow", 1))

    def corr_dim(r):
        return dim * math.log(L0 / (2 * math.pi * r)) / (2 * math.log(base))

    low = max(math.floor(corr_dim(beta_fast)), 0)
    high = min(math.ceil(corr_dim(beta_slow)), dim - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((j - low) / (high - low), 0.0, 1.0)
    inv = (freq / s) * ramp + freq * (1.0 - ramp)
    mscale = yarn_get_mscale(s, float(rs.get("mscale", 1.0))) / \
        yarn_get_mscale(s, float(rs.get("mscale_all_dim", 0.0)))
    return inv, mscale


def softmax_scale(cfg):
    sc = cfg.qk_head_dim ** -0.5
    rs = cfg.yarn()
    if rs is not None:
        mad = float(rs.get("mscale_all_dim", 0.0))
        s = float(rs["factor"])
        if mad != 0 and s > 1:
            m = 0.1 * mad * math.log(s) + 1.0
            sc *= m * m
    return sc


# ---------------------------------------------------------------- modules

class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return x * r * self.weight


def linear(i, o):
    return nn.Linear(i, o, bias=False)


class Rope:
    """cos/sin tables [P, Dr/2]: float64 angles pos·inv_freq, × the YaRN mscale ratio, cast to dtype.
    The interleaved rotation itself is _rot."""

    def __init__(self, cfg, max_pos, dtype):
        inv, msc = rope_inv_freq(cfg)
        ang = np.arange(max_pos, dtype=np.float64)[:, None] * inv[None, :]
        self.cos = torch.from_numpy(np.cos(ang) * msc).to(dtype)
        self.sin = torch.from_numpy(np.sin(ang) * msc).to(dtype)


class MLA(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, H = cfg.hidden_size, cfg.num_attention_heads
        self.H, self.dn, self.dr, self.dv = H, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim, cfg.v_head_dim
        self.rkv = cfg.kv_lora_rank
        dqk = self.dn + self.dr
        if cfg.q_lora_rank:
            self.q_a_proj = linear(D, cfg.q_lora_rank)
            self.q_a_layernorm = RMSNorm(cfg.q_lora_rank, cfg.rms_norm_eps)
            self.q_b_proj = linear(cfg.q_lora_rank, H * dqk)
        else:
            self.q_proj = linear(D, H * dqk)
        self.kv_a_proj_with_mqa = linear(D, self.rkv + self.dr)
        self.kv_a_layernorm = RMSNorm(self.rkv, cfg.rms_norm_eps)
        self.kv_b_proj = linear(self.rkv, H * (self.dn + self.dv))
        self.o_proj = linear(H * self.dv, D)
        self.scale = softmax_scale(cfg)
        self.has_q_lora = bool(cfg.q_lora_rank)

    def project(self, x, rope, pos0):
        """x [B,T,D] -> q [B,H,T,Dqk], k [B,H,T,Dqk], v [B,H,T,Dv] (RoPE at positions pos0..)."""
        B, T, _ = x.shape
        H, dn, dr, dv = self.H, self.dn, self.dr, self.dv
        if self.has_q_lora:
            q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        else:
            q = self.q_proj(x)
        q = q.view(B, T, H, dn + dr)
        q_nope, q_pe = q.split([dn, dr], dim=-1)
        a = self.kv_a_proj_with_mqa(x)
        c, k_pe = a.split([self.rkv, dr], dim=-1)
        c = self.kv_a_layernorm(c)
        cos = rope.cos[pos0:pos0 + T, None, :]
        sin = rope.sin[pos0:pos0 + T, None, :]
        q_pe = _rot(q_pe, cos, sin)                       # [B,T,H,dr]
        k_pe = _rot(k_pe.unsqueeze(2), cos, sin)          # [B,T,1,dr]
        kv = self.kv_b_proj(c).view(B, T, H, dn + dv)
        k_nope, v = kv.split([dn, dv], dim=-1)
        qf = torch.cat([q_nope, q_pe], dim=-1).transpose(1, 2)
        kf = torch.cat([k_nope, k_pe.expand(B, T, H, dr)], dim=-1).transpose(1, 2)
        return qf, kf, v.transpose(1, 2)

    def attend(self, q, k, v, mask):
        """q [B,H,Tq,Dqk], k/v [B,H,Tk,.], mask additive [Tq,Tk] or None."""
        B, H, Tq, dqk = q.shape
        Tk = k.shape[2]
        if Tq == 1 and mask is None:           # one-token decode: elementwise, not B·H tiny GEMMs
            s = (k * q).sum(-1) * self.scale                            # [B,H,Tk]
            p = torch.softmax(s, dim=-1)
            o = (p.unsqueeze(-1) * v).sum(-2)                           # [B,H,dv]
            return self.o_proj(o.reshape(B, 1, -1))
        q3 = q.reshape(B * H, Tq, dqk)
        kt = k.reshape(B * H, Tk, dqk).transpose(1, 2)
        if mask is not None:      # one pass: mask + scale·q·kᵀ
            s = torch.baddbmm(mask.expand(B * H, Tq, Tk), q3, kt, beta=1.0, alpha=self.scale)
        else:
            s = torch.bmm(q3, kt) * self.scale
        p = torch.softmax(s, dim=-1)
        o = torch.bmm(p, v.reshape(B * H, Tk, -1)).view(B, H, Tq, -1)   # [B,H,Tq,dv]
        return self.o_proj(o.transpose(1, 2).reshape(B, Tq, -1))

    def forward(self, x, rope, mask):
        q, k, v = self.project(x, rope, 0)
        return self.attend(q, k, v, mask)


def _rot(x, cos, sin):
    x2 = x.unflatten(-1, (-1, 2))
    x0, x1 = x2[..., 0], x2[..., 1]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class MLP(nn.Module):
    def __init__(self, D, F_):
        super().__init__()
        self.gate_proj = linear(D, F_)
        self.up_proj = linear(D, F_)
        self.down_proj = linear(F_, D)

    def forward(self, x):
        if not torch.is_grad_enabled():        # inference: no per-call weight concatenation
            return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))
        # training: gate and up as one GEMM, [x·Wgᵀ | x·Wuᵀ] = x·[Wg; Wu]ᵀ
        gu = F.linear(x, torch.cat([self.gate_proj.weight, self.up_proj.weight], 0))
        g, u = gu.chunk(2, dim=-1)
        return self.down_proj(F.silu(g) * u)


class Gate(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        E = cfg.n_routed_experts
        self.weight = nn.Parameter(torch.empty(E, cfg.hidden_size))
        self.e_score_correction_bias = nn.Parameter(torch.zeros(E), requires_grad=False)


def route(s, bias, cfg):
    """s [N,E] sigmoid scores, bias [E] -> selected expert ids [N,K] (int64). No gradient."""
    with torch.no_grad():
        N, E = s.shape
        c = s + bias
        G, Gk = cfg.n_group, cfg.topk_group
        if G > 1 and Gk < G:
            cg = c.view(N, G, E // G)
            gs = cg.topk(2, dim=-1).values.sum(-1)                      # [N,G] top-2 sum
            gkeep = torch.sort(gs, dim=-1, descending=True, stable=True)[1][:, :Gk]
            gmask = torch.zeros(N, G, dtype=torch.bool).scatter_(1, gkeep, True)
            c = c.masked_fill(~gmask.repeat_interleave(E // G, dim=1), float("-inf"))
        sel = torch.sort(c, dim=-1, descending=True, stable=True)[1][:, :cfg.num_experts_per_tok]
    return sel


class MoE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        D, Im = cfg.hidden_size, cfg.moe_intermediate_size
        self.gate = Gate(cfg)
        self.experts = nn.ModuleList([MLP(D, Im) for _ in range(cfg.n_routed_experts)])
        if cfg.n_shared_experts > 0:
            self.shared_experts = MLP(D, cfg.n_shared_experts * Im)
        else:
            self.shared_experts = None

    def forward(self, x, stats):
        """x [B,T,D]. stats: dict collecting 'counts' (list of [E] tensors) and 'aux' (list)."""
        cfg = self.cfg
        B, T, D = x.shape
        E, K = cfg.n_routed_experts, cfg.num_experts_per_tok
        xf = x.reshape(B * T, D)
        s = torch.sigmoid(F.linear(xf, self.gate.weight))                 # [N,E]
        sel = route(s.detach(), self.gate.e_score_correction_bias.detach(), cfg)   # [N,K]
        w = s.gather(1, sel)                                                # [N,K]
        if cfg.norm_topk_prob:
            w = w / w.sum(-1, keepdim=True)
        w = w * cfg.routed_scaling_factor
        flat = sel.reshape(-1)
        counts = torch.bincount(flat, minlength=E)
        order = torch.argsort(flat, stable=True)
        tok = order // K
        wsorted = w.reshape(-1).index_select(0, order)
        xs = xf.index_select(0, tok)          # [N·K, D]: the tokens grouped by expert
        # split (not slicing: a slice's backward writes a full-size zero tensor per expert)
        parts = xs.split(counts.tolist(), 0)
        ys = [self.experts[e](part) for e, part in enumerate(parts) if part.shape[0] > 0]
        y = torch.cat(ys, 0) * wsorted[:, None]
        # y.to: under bf16 autocast y is bf16 and x is not; the combine stays in x's dtype
        out = xf.new_zeros(B * T, D).index_add(0, tok, y.to(xf.dtype))
        if self.shared_experts is not None:
            out = out + self.shared_experts(xf)
        if stats is not None:
            stats.setdefault("counts", []).append(counts.detach())
            alpha = stats.get("alpha", 0.0)
            if alpha > 0:
                onehot = torch.zeros(B, T * K, E, dtype=s.dtype)
                onehot.scatter_(2, sel.reshape(B, T * K, 1), 1.0)
                f = onehot.sum(1) * (E / (K * T))                          # [B,E] constant
                sp = s.view(B, T, E)
                sp = sp / sp.sum(-1, keepdim=True)
                P = sp.mean(1)                                             # [B,E]
                stats.setdefault("aux", []).append(alpha * (f * P).sum(-1).mean())
        return out.view(B, T, D)


class DecoderLayer(nn.Module):
    def __init__(self, cfg, l):
        super().__init__()
        D = cfg.hidden_size
        self.input_layernorm = RMSNorm(D, cfg.rms_norm_eps)
        self.self_attn = MLA(cfg)
        self.post_attention_layernorm = RMSNorm(D, cfg.rms_norm_eps)
        self.is_moe = cfg.is_moe_layer(l)
        self.mlp = MoE(cfg) if self.is_moe else MLP(D, cfg.intermediate_size)

    def block(self, h, rope, mask, stats):
        h = h + self.self_attn(self.input_layernorm(h), rope, mask)
        x = self.post_attention_layernorm(h)
        return h + (self.mlp(x, stats) if self.is_moe else self.mlp(x))

    def forward(self, h, rope, mask, stats):
        return self.block(h, rope, mask, stats)


class SharedHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class MTPLayer(DecoderLayer):
    """Module k stored at layer index L+k-1: enorm, hnorm, eh_proj, the block, shared_head.norm."""

    def __init__(self, cfg, l):
        super().__init__(cfg, l)
        D = cfg.hidden_size
        self.enorm = RMSNorm(D, cfg.rms_norm_eps)
        self.hnorm = RMSNorm(D, cfg.rms_norm_eps)
        self.eh_proj = linear(2 * D, D)
        self.shared_head = SharedHead(cfg)


class Inner(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        L, Mt = cfg.num_hidden_layers, cfg.num_nextn_predict_layers
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg, l) for l in range(L)] +
                                    [MTPLayer(cfg, L + k) for k in range(Mt)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


def causal_mask(T, dtype):
    return torch.full((T, T), float("-inf"), dtype=dtype).triu(1)


class DeepseekV3(nn.Module):
    def __init__(self, cfg, max_pos=None):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        self.lm_head = linear(cfg.hidden_size, cfg.vocab_size)
        self._rope = {}
        self._mask = {}
        self.max_pos = max_pos or cfg.max_position_embeddings

    def rope(self, dtype):
        if dtype not in self._rope:
            self._rope[dtype] = Rope(self.cfg, self.max_pos, dtype)
        return self._rope[dtype]

    def mask(self, T, dtype):
        if (T, dtype) not in self._mask:
            self._mask[(T, dtype)] = causal_mask(T, dtype)
        return self._mask[(T, dtype)]

    def param_count(self):
        return sum(p.numel() for p in self.parameters())

    def forward(self, tokens, mtp_lambda=0.0, alpha=0.0, want_logits=True):
        """tokens [B,T] int64. Returns a dict: logits [B,T,V] (if want_logits), loss, mtp_loss,
        aux_loss, total_loss, counts {layer: [E]}, mtp_logits [list]."""
        cfg = self.cfg
        B, T = tokens.shape
        L, Mt = cfg.num_hidden_layers, cfg.num_nextn_predict_layers
        dtype = self.lm_head.weight.dtype
        rope = self.rope(dtype)
        emb = self.model.embed_tokens.weight
        h = F.embedding(tokens, emb)
        counts = OrderedDict()
        aux = []
        for l in range(L):
            st = {"alpha": alpha}
            h = self.model.layers[l](h, rope, self.mask(T, dtype), st)
            _collect(st, l, counts, aux)
        hf = self.model.norm(h)
        logits = self.lm_head(hf)
        V = cfg.vocab_size
        N = B * (T - 1)
        # targets shifted by one, the last position ignored (no slice of the big logits tensor)
        ign = tokens.new_full((B, 1), -100)
        loss = F.cross_entropy(logits.reshape(-1, V), torch.cat([tokens[:, 1:], ign], 1).reshape(-1),
                               ignore_index=-100, reduction="sum") / N
        out = {"logits": logits if want_logits else None, "loss": loss, "counts": counts}
        mtp_terms = []
        hprev = hf
        for k in range(1, Mt + 1):
            layer = self.model.layers[L + k - 1]
            n = T - k
            e = F.embedding(tokens[:, k:k + n], emb)
            x = layer.eh_proj(torch.cat([layer.enorm(e), layer.hnorm(hprev[:, :n])], dim=-1))
            st = {"alpha": alpha}
            hk = layer(x, rope, self.mask(n, dtype), st)
            _collect(st, L + k - 1, counts, aux)
            if n - 1 > 0:
                # position i predicts t_{i+k+1}; the module's last position has no target
                lk = self.lm_head(layer.shared_head.norm(hk))
                tgt = torch.cat([tokens[:, k + 1:], ign], 1).reshape(-1)
                ce = F.cross_entropy(lk.reshape(-1, V), tgt, ignore_index=-100, reduction="sum")
                mtp_terms.append(ce / N)
            hprev = hk
        zero = loss.new_zeros(())
        mtp_loss = (mtp_lambda / Mt) * sum(mtp_terms) if (Mt > 0 and mtp_terms) else zero
        aux_loss = sum(aux) if aux else zero
        out.update(mtp_loss=mtp_loss, aux_loss=aux_loss, total_loss=loss + mtp_loss + aux_loss)
        return out


def _collect(st, l, counts, aux):
    if "counts" in st:
        counts[l] = st["counts"][0]
    aux.extend(st.get("aux", []))


# ---------------------------------------------------------------- building

def param_shapes(cfg):
    """(name, shape) for every parameter (HF names; module order, not the C table's order)."""
    model = DeepseekV3(cfg)
    return [(n, tuple(p.shape)) for n, p in model.named_parameters()]


def build_fixture_model(cfg, seed, dtype=torch.float64):
    """The model with the spec's deterministic parameters (float32 values, held in dtype)."""
    model = DeepseekV3(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.data = torch.from_numpy(fixture_tensor(name, tuple(p.shape), seed)).to(dtype)
    return model


def hf_init(model, std, seed=0):
    """Hugging Face-style init (what `r1 init` does): normal(0, std) for matrices and the
    embedding, 1 for norms, 0 for the router bias."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            elif name.endswith("e_score_correction_bias"):
                p.zero_()
            else:
                p.normal_(0.0, std, generator=g)
    return model


# ---------------------------------------------------------------- KV-cache inference

class KVCache:
    """Naive cache: per main layer, the per-head keys [B,H,Tmax,Dqk] (RoPE applied) and values
    [B,H,Tmax,Dv]. (The MLA latent cache is the C side's business; this is the speed baseline.)"""

    def __init__(self, cfg, B, Tmax, dtype):
        H, dqk, dv = cfg.num_attention_heads, cfg.qk_head_dim, cfg.v_head_dim
        self.k = [torch.zeros(B, H, Tmax, dqk, dtype=dtype) for _ in range(cfg.num_hidden_layers)]
        self.v = [torch.zeros(B, H, Tmax, dv, dtype=dtype) for _ in range(cfg.num_hidden_layers)]
        self.len = 0


@torch.no_grad()
def forward_cached(model, tokens, cache):
    """Appends tokens [B,n] at positions cache.len.. and returns logits [B,n,V] (main model only)."""
    cfg = model.cfg
    B, n = tokens.shape
    p0 = cache.len
    dtype = model.lm_head.weight.dtype
    rope = model.rope(dtype)
    mask = None
    if n > 1:
        mask = torch.full((n, p0 + n), float("-inf"), dtype=dtype).triu(p0 + 1)
    h = F.embedding(tokens, model.model.embed_tokens.weight)
    for l in range(cfg.num_hidden_layers):
        layer = model.model.layers[l]
        q, k, v = layer.self_attn.project(layer.input_layernorm(h), rope, p0)
        cache.k[l][:, :, p0:p0 + n] = k
        cache.v[l][:, :, p0:p0 + n] = v
        h = h + layer.self_attn.attend(q, cache.k[l][:, :, :p0 + n], cache.v[l][:, :, :p0 + n], mask)
        x = layer.post_attention_layernorm(h)
        h = h + (layer.mlp(x, None) if layer.is_moe else layer.mlp(x))
    cache.len = p0 + n
    return model.lm_head(model.model.norm(h))
