"""Writes the model fixtures (format: tools/README.md): tests/fixtures/model/<name>/{config.json,
meta.json, ref.safetensors} for a_plain, b_bench and c_yarn_mtp (DeepSeek-V3, ref_model.py) and
d_llama and e_qwen2 (the dense families, ref_dense.py).

    /usr/bin/python3 tools/make_fixtures.py --out tests/fixtures/model [--only NAME]

Parameters come from the deterministic "fixture init" (ref_model.fixture_tensor), so a fixture
stores only the inputs and the targets: tokens, logits (or a sample + norm), loss, mtp_loss,
aux_loss, total_loss, every parameter's gradient (or a sample + norm) and the per-layer expert
counts. Everything is computed in float64 and stored as F32.
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

try:
    import numpy as np
    import torch
except ImportError:
    sys.exit("make_fixtures: error: PyTorch is missing; run with Debian's /usr/bin/python3 "
             "(apt-get install python3-torch python3-numpy)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_dense  # noqa: E402
import ref_model  # noqa: E402
import safetensors_io  # noqa: E402

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# shared/ sits beside the repository (and at /work/shared on the developers' machines)
BENCH_CONFIG_PATHS = [os.path.join(os.path.dirname(_ROOT), "shared/bench/bench_config.json"),
                      "/work/shared/bench/bench_config.json"]

# A copy of /work/shared/bench/bench_config.json, so the fixture can be regenerated anywhere.
BENCH_CONFIG = OrderedDict([
    ("architectures", ["DeepseekV3ForCausalLM"]), ("model_type", "deepseek_v3"),
    ("vocab_size", 4096), ("hidden_size", 256), ("num_hidden_layers", 6),
    ("first_k_dense_replace", 1), ("moe_layer_freq", 1), ("intermediate_size", 768),
    ("num_attention_heads", 8), ("num_key_value_heads", 8), ("q_lora_rank", 128),
    ("kv_lora_rank", 64), ("qk_nope_head_dim", 32), ("qk_rope_head_dim", 16), ("v_head_dim", 32),
    ("n_routed_experts", 16), ("n_shared_experts", 1), ("num_experts_per_tok", 4),
    ("moe_intermediate_size", 128), ("n_group", 4), ("topk_group", 2), ("scoring_func", "sigmoid"),
    ("topk_method", "noaux_tc"), ("norm_topk_prob", True), ("routed_scaling_factor", 2.5),
    ("hidden_act", "silu"), ("rms_norm_eps", 1e-06), ("rope_theta", 10000.0), ("rope_scaling", None),
    ("max_position_embeddings", 1024), ("num_nextn_predict_layers", 1),
    ("tie_word_embeddings", False), ("attention_bias", False), ("attention_dropout", 0.0),
    ("initializer_range", 0.02), ("bos_token_id", 0), ("eos_token_id", 1),
    ("torch_dtype", "float32"),
])


def tiny_config(**over):
    """The tiny test config (a_plain's); ref_train.py builds its own from it too."""
    c = OrderedDict([
        ("architectures", ["DeepseekV3ForCausalLM"]), ("model_type", "deepseek_v3"),
        ("vocab_size", 64), ("hidden_size", 32), ("num_hidden_layers", 2),
        ("first_k_dense_replace", 1), ("moe_layer_freq", 1), ("intermediate_size", 48),
        ("num_attention_heads", 2), ("num_key_value_heads", 2), ("q_lora_rank", None),
        ("kv_lora_rank", 16), ("qk_nope_head_dim", 8), ("qk_rope_head_dim", 4), ("v_head_dim", 6),
        ("n_routed_experts", 4), ("n_shared_experts", 1), ("num_experts_per_tok", 2),
        ("moe_intermediate_size", 16), ("n_group", 1), ("topk_group", 1),
        ("scoring_func", "sigmoid"), ("topk_method", "noaux_tc"), ("norm_topk_prob", True),
        ("routed_scaling_factor", 2.5), ("aux_loss_alpha", 0.0), ("seq_aux", True),
        ("hidden_act", "silu"), ("rms_norm_eps", 1e-06), ("rope_theta", 10000.0),
        ("rope_scaling", None), ("max_position_embeddings", 64), ("num_nextn_predict_layers", 0),
        ("tie_word_embeddings", False), ("attention_bias", False), ("attention_dropout", 0.0),
        ("initializer_range", 0.02), ("bos_token_id", 0), ("eos_token_id", 1),
        ("torch_dtype", "float32"),
    ])
    for k, v in over.items():
        c[k] = v
    return c


FIXTURES = OrderedDict([
    ("a_plain", dict(config=tiny_config(), seed=1234, batch=2, seq=12, mtp_lambda=0.0, alpha=0.0)),
    ("b_bench", dict(config=BENCH_CONFIG, seed=1234, batch=2, seq=32, mtp_lambda=0.3, alpha=0.0)),
    ("c_yarn_mtp", dict(config=tiny_config(
        q_lora_rank=24, qk_rope_head_dim=8, n_routed_experts=8, n_group=4, topk_group=2,
        num_experts_per_tok=3, moe_intermediate_size=12, num_nextn_predict_layers=2,
        aux_loss_alpha=0.1,
        # rope_theta 10 (not 10000) so that with original_max_position_embeddings 16 the YaRN ramp
        # has an interior point: low = 0, high = 2, ramp = [0, 0.5, 1, 1].
        rope_theta=10.0, max_position_embeddings=64,
        rope_scaling=OrderedDict([("type", "yarn"), ("factor", 4.0),
                                  ("original_max_position_embeddings", 16), ("beta_fast", 32.0),
                                  ("beta_slow", 1.0), ("mscale", 1.0), ("mscale_all_dim", 1.0)])),
        seed=1234, batch=2, seq=24, mtp_lambda=0.3, alpha=0.1)),
    # llama: 4 query heads on 2 key/value heads, head_dim 12 (not D/H = 8), biases on q/k/v/o,
    # tied embeddings, llama3 RoPE whose three bands all occur among the 6 frequencies
    # (wavelengths 6.3 < 16 kept, 29 between 16 and 64 smoothed, the rest divided by 8)
    ("d_llama", dict(config=OrderedDict([
        ("architectures", ["LlamaForCausalLM"]), ("model_type", "llama"), ("vocab_size", 64),
        ("hidden_size", 32), ("intermediate_size", 48), ("num_hidden_layers", 2),
        ("num_attention_heads", 4), ("num_key_value_heads", 2), ("head_dim", 12),
        ("attention_bias", True), ("mlp_bias", False), ("hidden_act", "silu"),
        ("rms_norm_eps", 1e-05), ("rope_theta", 10000.0),
        ("rope_scaling", OrderedDict([("rope_type", "llama3"), ("factor", 8.0), ("low_freq_factor", 1.0),
                                      ("high_freq_factor", 4.0), ("original_max_position_embeddings", 64)])),
        ("max_position_embeddings", 64), ("tie_word_embeddings", True), ("initializer_range", 0.02),
        ("bos_token_id", 0), ("eos_token_id", 1), ("torch_dtype", "float32")]),
        seed=1234, batch=2, seq=16, mtp_lambda=0.0, alpha=0.0)),
    # qwen2: 4 query heads on one key/value head, q/k/v biases, separate lm_head, rope_theta 1e6
    ("e_qwen2", dict(config=OrderedDict([
        ("architectures", ["Qwen2ForCausalLM"]), ("model_type", "qwen2"), ("vocab_size", 64),
        ("hidden_size", 32), ("intermediate_size", 48), ("num_hidden_layers", 2),
        ("num_attention_heads", 4), ("num_key_value_heads", 1), ("hidden_act", "silu"),
        ("rms_norm_eps", 1e-06), ("rope_theta", 1000000.0), ("rope_scaling", None),
        ("max_position_embeddings", 64), ("use_sliding_window", False), ("sliding_window", None),
        ("max_window_layers", 2), ("tie_word_embeddings", False), ("initializer_range", 0.02),
        ("bos_token_id", 0), ("eos_token_id", 1), ("torch_dtype", "float32")]),
        seed=1234, batch=2, seq=16, mtp_lambda=0.0, alpha=0.0)),
])

SAMPLE_MUL = 2654435761
LOGITS_FULL_MAX = 65536
GRADS_FULL_MAX = 300000


def sample_indices(count, n):
    """k·2654435761 mod n for k = 0..count-1, in 64-bit (Python ints)."""
    return np.array([(k * SAMPLE_MUL) % n for k in range(count)], dtype=np.int64)


def f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32)


def compute(spec):
    """Runs the float64 reference; returns (tensors, meta, report)."""
    dense = spec["config"]["model_type"] in ("qwen2", "llama")
    ref = ref_dense if dense else ref_model
    cfg = ref_dense.DenseConfig(spec["config"]) if dense else ref_model.Config(spec["config"])
    B, T = spec["batch"], spec["seq"]
    torch.manual_seed(0)
    model = ref.build_fixture_model(cfg, spec["seed"], torch.float64)
    tokens = ref_model.fixture_tokens(spec["seed"], B, T, cfg.vocab_size)
    out = model(torch.from_numpy(tokens), mtp_lambda=spec["mtp_lambda"], alpha=spec["alpha"])
    out["total_loss"].backward()
    pcount = model.param_count()

    t = OrderedDict()
    t["tokens"] = tokens.astype(np.int32)
    logits = out["logits"].detach().numpy()
    if logits.size <= LOGITS_FULL_MAX:
        t["logits"] = f32(logits)
    else:
        flat = logits.reshape(-1)
        t["logits_sample"] = f32(flat[sample_indices(4096, flat.size)])
        t["logits_norm"] = f32([np.linalg.norm(flat)])
    for k in ("loss", "mtp_loss", "aux_loss", "total_loss"):
        t[k] = f32([out[k].item()])
    for name, p in model.named_parameters():
        g = p.grad.numpy() if p.grad is not None else np.zeros(tuple(p.shape))
        if pcount <= GRADS_FULL_MAX:
            t["grad." + name] = f32(g)
        else:
            flat = g.reshape(-1)
            t["grad_sample." + name] = f32(flat[sample_indices(min(flat.size, 64), flat.size)])
            t["grad_norm." + name] = f32([np.linalg.norm(flat)])
    for l, c in out["counts"].items():
        t["expert_counts.%d" % l] = f32(c.numpy())
    meta = OrderedDict([("seed", spec["seed"]), ("batch", B), ("seq", T),
                        ("mtp_lambda", spec["mtp_lambda"]), ("seq_aux_alpha", spec["alpha"]),
                        ("param_count", pcount)])
    report = dict(loss=out["loss"].item(), mtp_loss=out["mtp_loss"].item(),
                  aux_loss=out["aux_loss"].item(), total_loss=out["total_loss"].item(),
                  param_count=pcount, route_margin=route_margin(model, tokens, spec))
    return t, meta, report


def route_margin(model, tokens, spec):
    """Smallest gap, over every routed token of every MoE layer, between the K-th selected biased
    score and the best unselected one (both after group masking) — how far the fixture's
    selection is from a tie (a float32 implementation flips a choice only if its error exceeds
    this)."""
    cfg = model.cfg
    margins = []

    def hook(mod, inp, _out):
        x = inp[0].detach().reshape(-1, cfg.hidden_size)
        s = torch.sigmoid(x @ mod.gate.weight.detach().T)
        c = s + mod.gate.e_score_correction_bias.detach()
        sel = ref_model.route(s, mod.gate.e_score_correction_bias.detach(), cfg)
        G, Gk, E = cfg.n_group, cfg.topk_group, cfg.n_routed_experts
        if G > 1 and Gk < G:
            gs = c.view(-1, G, E // G).topk(2, dim=-1).values.sum(-1)
            srt = gs.sort(dim=-1, descending=True).values
            margins.append((srt[:, Gk - 1] - srt[:, Gk]).min().item())
        chosen = torch.zeros_like(c, dtype=torch.bool).scatter_(1, sel, True)
        kth = c.gather(1, sel).min(-1).values
        # unselected within kept groups: mask the dropped ones as route() does
        cm = c.clone()
        if G > 1 and Gk < G:
            gs = c.view(-1, G, E // G).topk(2, dim=-1).values.sum(-1)
            keep = torch.sort(gs, dim=-1, descending=True, stable=True)[1][:, :Gk]
            gm = torch.zeros_like(gs, dtype=torch.bool).scatter_(1, keep, True)
            cm = cm.masked_fill(~gm.repeat_interleave(E // G, dim=1), float("-inf"))
        best_out = cm.masked_fill(chosen, float("-inf")).max(-1).values
        margins.append((kth - best_out).min().item())

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, ref_model.MoE)]
    with torch.no_grad():
        model(torch.from_numpy(tokens), mtp_lambda=spec["mtp_lambda"], alpha=spec["alpha"])
    for h in hs:
        h.remove()
    return min(margins) if margins else None


def write_fixture(outdir, name, spec):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    tensors, meta, report = compute(spec)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(spec["config"], f, indent=2)
        f.write("\n")
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    safetensors_io.write(os.path.join(d, "ref.safetensors"), tensors)
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="directory that receives <name>/ folders")
    ap.add_argument("--only", choices=list(FIXTURES), help="write this fixture only")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for path in BENCH_CONFIG_PATHS:
        if os.path.exists(path):
            with open(path) as f:
                if json.load(f) != json.loads(json.dumps(BENCH_CONFIG)):
                    sys.exit("make_fixtures: error: %s differs from the copy in make_fixtures.py" % path)
            break
    for name, spec in FIXTURES.items():
        if args.only and name != args.only:
            continue
        r = write_fixture(args.out, name, spec)
        print("%s: params %d loss %.6f mtp_loss %.6f aux_loss %.6g total %.6f min routing margin %.3g"
              % (name, r["param_count"], r["loss"], r["mtp_loss"], r["aux_loss"], r["total_loss"],
                 r["route_margin"] if r["route_margin"] is not None else float("nan")))


if __name__ == "__main__":
    main()
