"""Logits of a Hugging Face model folder (deepseek_v3, qwen2 or llama), computed by our PyTorch
references (tools/ref_model.py, tools/ref_dense.py) in float64 — the independent side of
`r1 logits` (tests/test_checkpoint.c runs both on a folder written by `r1 init` and compares them
when torch is installed).

usage: /usr/bin/python3 tools/folder_logits.py DIR 1,2,3 OUT.safetensors

The folder is read with tools/safetensors_io.py (numpy; F32, BF16 and F16), not with r1.c's:
every parameter of the reference model must be present under its Hugging Face name with its shape;
the MTP modules' copies of embed_tokens / shared_head.head (and a tied lm_head, when present) must
equal the main tensors; any other tensor is an error. Writes the f32 tensor "logits" [T, vocab_size].
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402


def read_safetensors(path):
    """The folder's tensors (F32, BF16 or F16; any other dtype is an error) in float64."""
    try:
        raw = safetensors_io.read(path, dtypes=("F32", "BF16", "F16"))
    except ValueError as e:
        raise SystemExit(str(e))
    return {name: a.astype(np.float64) for name, a in raw.items()}


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    folder, toks, out_path = sys.argv[1:]
    import torch
    import ref_dense
    import ref_model

    with open(os.path.join(folder, "config.json")) as f:
        raw = json.load(f)
    tensors = read_safetensors(os.path.join(folder, "model.safetensors"))
    if raw.get("model_type") in ("qwen2", "llama"):
        cfg = ref_dense.DenseConfig(raw)
        model = ref_dense.DenseLM(cfg).to(torch.float64)
    else:
        cfg = ref_model.Config(raw)
        model = ref_model.DeepseekV3(cfg).to(torch.float64)
    seen = set()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name not in tensors:
                raise SystemExit("tensor %s: missing" % name)
            a = tensors[name]
            if tuple(a.shape) != tuple(p.shape):
                raise SystemExit("tensor %s: shape %s, expected %s" % (name, a.shape, tuple(p.shape)))
            p.copy_(torch.from_numpy(np.ascontiguousarray(a)))
            seen.add(name)
    L = cfg.num_hidden_layers
    dups = []
    if getattr(cfg, "tie_word_embeddings", False) and "lm_head.weight" in tensors:
        dups.append(("lm_head.weight", "model.embed_tokens.weight"))
    for k in range(cfg.num_nextn_predict_layers):
        for dup, main in (("embed_tokens.weight", "model.embed_tokens.weight"),
                          ("shared_head.head.weight", "lm_head.weight")):
            dups.append(("model.layers.%d.%s" % (L + k, dup), main))
    for name, main in dups:
        if name not in tensors or not np.array_equal(tensors[name], tensors[main]):
            raise SystemExit("tensor %s: missing or not a copy of %s" % (name, main))
        seen.add(name)
    extra = sorted(set(tensors) - seen)
    if extra:
        raise SystemExit("unexpected tensors: %s" % ", ".join(extra[:5]))
    tokens = torch.tensor([[int(t) for t in toks.split(",")]], dtype=torch.int64)
    with torch.no_grad():
        logits = model(tokens)["logits"][0]
    safetensors_io.write(out_path, {"logits": logits.to(torch.float32).numpy()})


if __name__ == "__main__":
    main()
