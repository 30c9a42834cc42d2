"""Our PyTorch reference of the dense decoder families the R1-Distill students use: Hugging Face
`qwen2` and `llama` (forward, loss; backward via autograd). Written from the published modelling
rules, not from transformers (Debian's torch only).

    Qwen2:  q/k/v biases, o_proj without; grouped-query attention; RoPE in halves ("rotate_half");
            separate or tied lm_head
    Llama:  attention_bias puts biases on q, k, v AND o_proj; explicit head_dim; llama3 RoPE
            scaling (low/high frequency bands, smooth in between)

Used by make_fixtures.py (float64 on the deterministic fixture init of ref_model.py) to write the
targets tests/test_model_fixture.c compares the C model with. Parameters are named exactly as in
Hugging Face checkpoints (model.layers.N.self_attn.q_proj.bias, ...); with tie_word_embeddings the
lm_head is embed_tokens and named_parameters() lists it once.

Dimension legend: B batch, T tokens, D hidden, H heads, Hkv key/value heads, Dh head_dim, V vocab.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import ref_model


class DenseConfig:
    """The config.json keys of qwen2 / llama (defaults as the HF config classes)."""

    def __init__(self, d):
        g = d.get
        self.model_type = d["model_type"]
        assert self.model_type in ("qwen2", "llama")
        self.vocab_size = d["vocab_size"]
        self.hidden_size = d["hidden_size"]
        self.intermediate_size = d["intermediate_size"]
        self.num_hidden_layers = d["num_hidden_layers"]
        self.num_attention_heads = d["num_attention_heads"]
        self.num_key_value_heads = g("num_key_value_heads") or self.num_attention_heads
        self.head_dim = g("head_dim") or self.hidden_size // self.num_attention_heads
        self.rms_norm_eps = float(g("rms_norm_eps", 1e-6))
        self.rope_theta = float(g("rope_theta", 10000.0))
        self.rope_scaling = g("rope_scaling")
        self.max_position_embeddings = d["max_position_embeddings"]
        self.tie_word_embeddings = bool(g("tie_word_embeddings", False))
        bias = bool(g("attention_bias", False))
        self.qkv_bias = self.model_type == "qwen2" or bias
        self.o_bias = self.model_type == "llama" and bias
        assert not g("use_sliding_window", False) and not g("mlp_bias", False)
        self.num_nextn_predict_layers = 0


def inv_freq(cfg):
    """[Dh/2] float64: theta^(-2j/Dh), rescaled by the llama3 rule when configured."""
    dim = cfg.head_dim
    f = cfg.rope_theta ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
    rs = cfg.rope_scaling
    kind = rs and (rs.get("rope_type") or rs.get("type"))
    if not kind or kind == "default":
        return f
    assert kind == "llama3", kind
    s, L0 = float(rs["factor"]), float(rs["original_max_position_embeddings"])
    lo, hi = float(rs["low_freq_factor"]), float(rs["high_freq_factor"])
    wavelen = 2 * math.pi / f
    out = np.where(wavelen > L0 / lo, f / s, f)                    # low frequencies: / factor
    a = (L0 / wavelen - lo) / (hi - lo)
    smooth = (1 - a) * out / s + a * out
    mid = (wavelen >= L0 / hi) & (wavelen <= L0 / lo)
    return np.where(mid, smooth, out)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, H, Hkv, Dh = cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.H, self.Hkv, self.Dh = H, Hkv, Dh
        self.q_proj = nn.Linear(D, H * Dh, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(D, Hkv * Dh, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(D, Hkv * Dh, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(H * Dh, D, bias=cfg.o_bias)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        H, Hkv, Dh = self.H, self.Hkv, self.Dh
        q = self.q_proj(x).view(B, T, H, Dh).transpose(1, 2)        # [B,H,T,Dh]
        k = self.k_proj(x).view(B, T, Hkv, Dh).transpose(1, 2)      # [B,Hkv,T,Dh]
        v = self.v_proj(x).view(B, T, Hkv, Dh).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // Hkv, dim=1)                    # repeat_kv: head h reads h // rep
        v = v.repeat_interleave(H // Hkv, dim=1)
        s = q @ k.transpose(-1, -2) * Dh ** -0.5 + mask
        o = torch.softmax(s, dim=-1) @ v                            # [B,H,T,Dh]
        return self.o_proj(o.transpose(1, 2).reshape(B, T, H * Dh))


class MLP(nn.Module):
    def __init__(self, D, I):
        super().__init__()
        self.gate_proj = nn.Linear(D, I, bias=False)
        self.up_proj = nn.Linear(D, I, bias=False)
        self.down_proj = nn.Linear(I, D, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg.hidden_size
        self.input_layernorm = ref_model.RMSNorm(D, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = ref_model.RMSNorm(D, cfg.rms_norm_eps)
        self.mlp = MLP(D, cfg.intermediate_size)

    def forward(self, h, cos, sin, mask):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Inner(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = ref_model.RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class DenseLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        if not cfg.tie_word_embeddings:
            self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)

    def param_count(self):
        return sum(p.numel() for p in self.parameters())

    def forward(self, tokens, mtp_lambda=0.0, alpha=0.0):
        """tokens [B,T] int64 -> logits [B,T,V] and the mean next-token cross-entropy over the
        B·(T−1) positions with a target (the C side's targets: tokens shifted left)."""
        cfg = self.cfg
        B, T = tokens.shape
        emb = self.model.embed_tokens.weight
        dtype = emb.dtype
        ang = np.arange(T, dtype=np.float64)[:, None] * inv_freq(cfg)[None, :]      # [T, Dh/2]
        cos = torch.from_numpy(np.concatenate([np.cos(ang)] * 2, axis=-1)).to(dtype)
        sin = torch.from_numpy(np.concatenate([np.sin(ang)] * 2, axis=-1)).to(dtype)
        mask = ref_model.causal_mask(T, dtype)
        h = F.embedding(tokens, emb)
        for layer in self.model.layers:
            h = layer(h, cos, sin, mask)
        hf = self.model.norm(h)
        logits = hf @ (emb if cfg.tie_word_embeddings else self.lm_head.weight).T
        V = cfg.vocab_size
        tgt = torch.cat([tokens[:, 1:], tokens.new_full((B, 1), -100)], 1).reshape(-1)
        loss = F.cross_entropy(logits.reshape(-1, V), tgt, ignore_index=-100, reduction="sum") / (B * (T - 1))
        zero = loss.new_zeros(())
        return {"logits": logits, "loss": loss, "mtp_loss": zero, "aux_loss": zero,
                "total_loss": loss, "counts": {}}


def build_fixture_model(cfg, seed, dtype=torch.float64):
    """The model with the fixture init's deterministic parameters (float32 values, held in dtype)."""
    model = DenseLM(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.data = torch.from_numpy(ref_model.fixture_tensor(name, tuple(p.shape), seed)).to(dtype)
    return model
