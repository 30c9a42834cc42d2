#!/usr/bin/env python3
"""Renders conversations with the chat_template of a tokenizer_config.json exactly as Hugging Face
transformers' apply_chat_template does (jinja2, ImmutableSandboxedEnvironment, trim_blocks and
lstrip_blocks, bos_token/eos_token from the config). Used by tests/test_tokenizer_train.c to check
that chat_render() in C and the stored Jinja template agree; skipped when jinja2 is missing.

  python3 tools/chat_template_ref.py tokenizer_config.json conversations.json
  conversations.json: [{"messages": [{"role": ..., "content": ...}], "add_generation_prompt": bool}]
  prints a JSON list of rendered strings
"""
import json
import sys

from jinja2.sandbox import ImmutableSandboxedEnvironment


def token_text(t):
    return t["content"] if isinstance(t, dict) else t


cfg = json.load(open(sys.argv[1], encoding="utf-8"))
convs = json.load(open(sys.argv[2], encoding="utf-8"))
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
tmpl = env.from_string(cfg["chat_template"])
out = [tmpl.render(messages=c["messages"], add_generation_prompt=c["add_generation_prompt"],
                   bos_token=token_text(cfg["bos_token"]), eos_token=token_text(cfg["eos_token"]))
       for c in convs]
json.dump(out, sys.stdout, ensure_ascii=False)
sys.stdout.write("\n")
