/* The dense families through the binary (env R1, default build/r1), as a user runs R1-Distill
 * students: on a llama folder (grouped-query attention, biases on q/k/v/o, tied embeddings,
 * llama3 RoPE) and a qwen2 one, every command that trains or uses a model works —
 * init, pretrain, sft, distill (--student-config a qwen2 or llama config, from random init and
 * from a base), grpo, zero, generate, chat, eval, sample (then score on its output) — and each
 * output folder is a model folder of the same family (config.json model_type, HF tensor names,
 * no lm_head tensor when tied) that r1 can load again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "test.h"
#include "test_util.h"

static char dir[64] = "/tmp/r1_densecli_XXXXXX";

static const char *LLAMA =
    "{\"model_type\": \"llama\", \"vocab_size\": 320, \"hidden_size\": 32, \"intermediate_size\": 64,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 12,"
    " \"attention_bias\": true, \"tie_word_embeddings\": true, \"rms_norm_eps\": 1e-5, \"rope_theta\": 500000.0,"
    " \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0,"
    " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 64},"
    " \"max_position_embeddings\": 256, \"bos_token_id\": 0, \"eos_token_id\": [1, 2]}";

static const char *QWEN2 =
    "{\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\", \"vocab_size\": 320,"
    " \"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
    " \"num_key_value_heads\": 1, \"max_position_embeddings\": 256, \"use_sliding_window\": false,"
    " \"sliding_window\": 4096, \"max_window_layers\": 2, \"tie_word_embeddings\": false}";

/* The folder's config.json names `type` and its tensors include (or lack) `name`. */
static void expect_folder(const char *sub, const char *type, const char *name, int present) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s/config.json", dir, sub);
    Err e = {{0}};
    cJSON *c = json_load_file(p, &e);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(c, "model_type");
    EXPECTF(cJSON_IsString(mt) && !strcmp(mt->valuestring, type), "%s: model_type is not %s", sub, type);
    cJSON_Delete(c);
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    Safetensors st;
    if (st_open_folder(&st, p, &e) != 0) { EXPECTF(0, "%s", e.msg); st_free(&st); return; }
    EXPECTF((st_find(&st, name) != NULL) == present, "%s: %s %s", sub, name, present ? "missing" : "present");
    EXPECTF(st_find(&st, "model.layers.1.self_attn.k_proj.weight") != NULL, "%s: no k_proj", sub);
    st_free(&st);
}

static int setup(void) {
    if (!mkdtemp(dir)) return -1;
    StrBuf o = {0};
    const char *r = tu_r1_bin();
    char p[256];
    snprintf(p, sizeof p, "%s/llama.json", dir);
    tu_put(p, LLAMA);
    snprintf(p, sizeof p, "%s/qwen2.json", dir);
    tu_put(p, QWEN2);
    int rc = tu_runf(&o, "%s data make --task=arith --level=1 --n=300 --format=pretrain --seed=1 --out=%s/pt.jsonl "
                     "--text-out=%s/pt.txt", r, dir, dir);
    if (rc == 0) rc = tu_runf(&o, "%s data make --task=arith --level=1 --n=40 --format=sft --seed=2 --out=%s/sft.jsonl", r, dir);
    if (rc == 0) rc = tu_runf(&o, "%s tokenizer train --data=%s/pt.txt --vocab-size=300 --out=%s/tok/tokenizer.json --quiet",
                              r, dir, dir);
    if (rc == 0) rc = tu_runf(&o, "%s init --config=%s/llama.json --seed=1 --out=%s/llama && cp %s/tok/* %s/llama/",
                              r, dir, dir, dir, dir);
    if (rc) printf("  setup: %s\n", o.s);
    sb_free(&o);
    return rc;
}

static void test_train(void) {
    StrBuf o = {0};
    const char *r = tu_r1_bin();
    int rc = tu_runf(&o, "%s pretrain --config=%s/qwen2.json --tokenizer=%s/tok/tokenizer.json --data=%s/pt.jsonl "
                     "--out=%s/qwen_base --steps=3 --batch=2 --seq-len=64 --threads=1", r, dir, dir, dir, dir);
    EXPECTF(rc == 0, "pretrain: %s", o.s);
    expect_folder("qwen_base", "qwen2", "model.layers.0.self_attn.q_proj.bias", 1);
    rc = tu_runf(&o, "%s sft --model=%s/llama --data=%s/sft.jsonl --out=%s/llama_sft --steps=2 --batch=2 "
                 "--seq-len=96 --threads=1", r, dir, dir, dir);
    EXPECTF(rc == 0, "sft: %s", o.s);
    expect_folder("llama_sft", "llama", "lm_head.weight", 0);
    expect_folder("llama_sft", "llama", "model.layers.0.self_attn.o_proj.bias", 1);
    /* distill into each family: from random init, and from a base folder */
    rc = tu_runf(&o, "%s distill --data=%s/sft.jsonl --student-config=%s/llama.json --tokenizer=%s/tok/tokenizer.json "
                 "--out=%s/st_llama --steps=2 --batch=2 --seq-len=96 --quiet --threads=1", r, dir, dir, dir, dir);
    EXPECTF(rc == 0 && strstr(o.s, "distill: 40 examples"), "distill llama: %s", o.s);
    expect_folder("st_llama", "llama", "lm_head.weight", 0);
    rc = tu_runf(&o, "%s distill --data=%s/sft.jsonl --student-config=%s/qwen2.json --tokenizer=%s/tok/tokenizer.json "
                 "--init=%s/qwen_base --out=%s/st_qwen --steps=2 --batch=2 --seq-len=96 --quiet --threads=1",
                 r, dir, dir, dir, dir, dir);
    EXPECTF(rc == 0 && strstr(o.s, "distill: 40 examples"), "distill qwen2: %s", o.s);
    expect_folder("st_qwen", "qwen2", "lm_head.weight", 1);
    /* a base of another family than the student config is refused */
    rc = tu_runf(&o, "%s distill --data=%s/sft.jsonl --student-config=%s/qwen2.json --tokenizer=%s/tok/tokenizer.json "
                 "--init=%s/llama --out=%s/st_bad --steps=1 --seq-len=96 --quiet", r, dir, dir, dir, dir, dir);
    EXPECTF(rc != 0 && strstr(o.s, "does not match the student config"), "%s", o.s);
    /* RL on the students */
    rc = tu_runf(&o, "%s grpo --model %s/st_qwen --out %s/qwen_grpo --task arith --prompt-format chat --steps 1 "
                 "--prompts-per-step 2 --num-generations 2 --max-completion-length 8 --quiet --threads 1", r, dir, dir);
    EXPECTF(rc == 0, "grpo: %s", o.s);
    expect_folder("qwen_grpo", "qwen2", "model.layers.1.self_attn.v_proj.bias", 1);
    rc = tu_runf(&o, "%s zero --model %s/llama --out %s/llama_zero --task arith --prompt-format plain --steps 1 "
                 "--prompts-per-step 2 --num-generations 2 --max-completion-length 8 --eval-every 0 --quiet --threads 1",
                 r, dir, dir);
    EXPECTF(rc == 0, "zero: %s", o.s);
    expect_folder("llama_zero", "llama", "lm_head.weight", 0);
    sb_free(&o);
}

static void test_use(void) {
    StrBuf o = {0};
    const char *r = tu_r1_bin();
    const char *models[2] = {"llama", "qwen_base"};
    for (int i = 0; i < 2; i++) {
        const char *m = models[i];
        int rc = tu_runf(&o, "%s generate --model %s/%s --prompt 'what is two plus three' --temperature 0 -n 2 "
                         "--max-tokens 8 --threads 1", r, dir, m);
        EXPECTF(rc == 0 && strstr(o.s, "generated 16 tokens"), "generate %s: %s", m, o.s);
        rc = tu_runf(&o, "printf 'two plus three\\n/exit\\n' | %s chat --model %s/%s --temperature 0 --max-tokens 6 "
                     "--threads 1", r, dir, m);
        EXPECTF(rc == 0, "chat %s: %s", m, o.s);
        rc = tu_runf(&o, "%s eval --model %s/%s --task arith --level 1 --n 2 --k 2 --max-tokens 8 --seed 3 --threads 1 "
                     "--out %s/eval_%s.json", r, dir, m, dir, m);
        EXPECTF(rc == 0, "eval %s: %s", m, o.s);
        rc = tu_runf(&o, "%s sample --model %s/%s --task arith --level 1 --n 2 -n 2 --keep 1 --max-tokens 8 --threads 1 "
                     "--out %s/s_%s.jsonl && %s score --data %s/s_%s.jsonl", r, dir, m, dir, m, r, dir, m);
        EXPECTF(rc == 0, "sample + score %s: %s", m, o.s);
        rc = tu_runf(&o, "%s logits --model %s/%s --tokens 5,9,2,33 --out %s/l_%s.safetensors", r, dir, m, dir, m);
        EXPECTF(rc == 0, "logits %s: %s", m, o.s);
    }
    sb_free(&o);
}

int main(void) {
    if (setup() != 0) { printf("FAIL setup\n"); return 1; }
    RUN(test_train);
    RUN(test_use);
    if (!getenv("KEEP")) {
        Err e;
        file_remove_tree(dir, &e);
    }
    return TEST_EXIT();
}
