/* `r1 export gguf` checked by llama.cpp itself: random DeepSeek-V3 models (q-LoRA or a single q
 * projection, YaRN, group-limited noaux_tc routing with a bias, softmax routing, leading dense
 * layers, shared experts, MTP left out), llama models (GQA and MQA, head_dim != D/H, q/k/v/o
 * biases, llama3 RoPE scaling, tied and untied lm_head) and qwen2 models (q/k/v biases, GQA, tied
 * and untied) are exported, loaded by the prebuilt CPU llama.cpp of npm node-llama-cpp@3.21.1
 * (tools/llamacpp_probs.js), which continues a prompt greedily and reports its next-token
 * distribution at every step; `r1 logits` over the same tokens must agree. The tokenizers go too:
 * llama.cpp encodes the tokenizer corpora from the exported files as Hugging Face does.
 *
 * Bounds. f32: |p_llama − p_r1| ≤ 1e-3 for every token of the vocabulary at every step, and the
 * same greedy token (r1's argmax) at every step.
 * f16 / bf16 / q8_0: the file's weights are rounded, and llama.cpp's CPU matmul also rounds each
 * activation row to the weight type's dot-product format before multiplying (f16, bf16, or q8_0
 * blocks). Two comparisons:
 *   (a) llama.cpp vs r1 running the same file (`r1 logits --model F.gguf`: the same rounded weights
 *       in f32), so only llama.cpp's activation rounding differs. An input rounded with relative
 *       error ≤ u gives a matmul output error of about u·‖W‖‖x‖/√3 per row (independent errors of a
 *       uniform rounding), i.e. a relative error ≈ u; the logits pass n rounded matmul inputs in
 *       series, so δz ≲ n·u·max|z|: per MLA layer 7 (q, kv, absorbed k, v, o, gate/up, down), per
 *       GQA layer 4 (q/k/v, o, gate/up, down; the attention itself runs in f32 over the F32 cache),
 *       plus lm_head: n = 7L + 1 or 4L + 1. A log-probability moves by at most 2·max|δz|
 *       (δ log p_i = δz_i − Σ_j p_j δz_j). We allow |δ log p| ≤ 2n·u·max|z| on tokens with
 *       p ≥ 1e-3 (rarer ones are allowed the same absolute error in p). u: f16 2^-11, bf16 2^-8,
 *       q8_0 1/254 (half a step of max|x|/127) + 2^-11 for the f16 scale.
 *   (b) llama.cpp vs r1 on the original f32 folder: the weight rounding adds an error of the same
 *       form (another rounded operand per matmul), so twice (a)'s allowance.
 * Greedy tokens in (a) and (b) must agree wherever r1's top-two margin exceeds the allowed
 * logit error. The measured maxima are printed so the margins can be read off.
 * SKIP (not pass) when node or the package is missing. */
#include "test.h"
#include "test_util.h"
#include "test_gguf_util.h"

#include <unistd.h>

#include "tokenizer/chat.h"

static const int PROMPT[8] = {5, 17, 42, 9, 33, 2, 60, 11};
enum { NPROMPT = 8, NNEW = 8 };

/* Why llama.cpp (npm node-llama-cpp@3.21.1 and its x64 CPU binary, in build/node) cannot be run
 * here, or NULL. */
static const char *no_llamacpp(void) {
    const char *why = tu_no_node_module("node-llama-cpp");
    return why ? why : tu_no_file("node", "build/node/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/llama-addon.node",
                                  "node-llama-cpp's x64 CPU binary; tools/fetch_v3_tokenizer.sh installs it");
}

/* llama.cpp's greedy continuation of PROMPT: tokens [NNEW] and probabilities [NNEW, V]. */
static int run_llamacpp(const char *gguf, int *tokens, double **probs, int *V) {
    char cmd[1024], prompt[256];
    size_t k = 0;
    for (int i = 0; i < NPROMPT; i++) k += (size_t)snprintf(prompt + k, sizeof prompt - k, "%s%d", i ? "," : "", PROMPT[i]);
    snprintf(cmd, sizeof cmd, "node tools/llamacpp_probs.js %s %s %d 1", gguf, prompt, NNEW);
    StrBuf out = {0};
    int status = 0;
    if (tu_capture(cmd, &out, &status) || status != 0) { printf("  %s: status %d\n", cmd, status); sb_free(&out); return -1; }
    cJSON *j = cJSON_Parse(out.s);
    sb_free(&out);
    const cJSON *tk = cJSON_GetObjectItem(j, "tokens"), *pr = cJSON_GetObjectItem(j, "probs");
    if (!j || cJSON_GetArraySize(tk) != NNEW || cJSON_GetArraySize(pr) != NNEW) { printf("  llama.cpp output not understood\n"); cJSON_Delete(j); return -1; }
    *V = cJSON_GetArraySize(cJSON_GetArrayItem(pr, 0));
    *probs = malloc((size_t)NNEW * *V * sizeof **probs);
    for (int s = 0; s < NNEW; s++) {
        tokens[s] = cJSON_GetArrayItem(tk, s)->valueint;
        const cJSON *row = cJSON_GetArrayItem(pr, s);
        for (int v = 0; v < *V; v++) (*probs)[(size_t)s * *V + v] = cJSON_GetArrayItem(row, v)->valuedouble;
    }
    cJSON_Delete(j);
    return 0;
}

typedef struct Diff { double p, logp, zmax; int token_mismatch, unsure_steps; } Diff;

/* Compares llama.cpp's steps with r1's logits of `model` over PROMPT + llama.cpp's tokens;
 * `zerr` is the logit error allowed (a greedy token may differ only where r1's margin is below it). */
static int compare(const char *model, const char *tmp, const int *ltok, const double *lp, int V, double zerr, Diff *d) {
    int ids[NPROMPT + NNEW], Vr = 0;
    memcpy(ids, PROMPT, sizeof PROMPT);
    for (int s = 0; s < NNEW - 1; s++) ids[NPROMPT + s] = ltok[s];
    float *z = gg_r1_logits(model, ids, NPROMPT + NNEW - 1, tmp, &Vr);
    if (!z || Vr != V) { printf("  r1 logits: vocab %d vs llama.cpp %d\n", Vr, V); free(z); return -1; }
    memset(d, 0, sizeof *d);
    double *p = malloc((size_t)V * sizeof *p);
    for (int s = 0; s < NNEW; s++) {
        const float *row = z + (size_t)(NPROMPT - 1 + s) * V;
        gg_softmax(row, V, p);
        int best = 0, second = -1;
        for (int v = 0; v < V; v++) {
            double q = lp[(size_t)s * V + v];
            d->p = fmax(d->p, fabs(p[v] - q));
            if (p[v] >= 1e-3) d->logp = fmax(d->logp, fabs(log(p[v]) - log(q)));
            d->zmax = fmax(d->zmax, fabs(row[v]));
            if (row[v] > row[best]) best = v;
        }
        for (int v = 0; v < V; v++) if (v != best && (second < 0 || row[v] > row[second])) second = v;
        if (best != ltok[s]) {
            if (row[best] - row[second] > 2 * zerr) d->token_mismatch++;
            else d->unsure_steps++;
        }
    }
    free(p);
    free(z);
    return 0;
}

/* Rounded matmul inputs in series from the embedding to the logits (see the header). */
static int rounded_in_series(const char *cfg) {
    cJSON *j = cJSON_Parse(cfg);
    const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(j, "model_type"));
    int L = cJSON_GetObjectItem(j, "num_hidden_layers")->valueint, per_layer = ty && strcmp(ty, "deepseek_v3") ? 4 : 7;
    cJSON_Delete(j);
    return per_layer * L + 1;
}

static void check_model(const char *cfg, uint64_t seed, const char *const *types, int n_types) {
    SKIP_IF(no_llamacpp());   /* ends the calling test as skipped */
    char tmpl[] = "/tmp/r1gguf.XXXXXX", dir[600];
    if (tu_mkdtemp_sub(tmpl, "m", dir, sizeof dir)) { EXPECT(0); return; }
    EXPECT(gg_save_model(dir, cfg, seed) == 0);
    for (int t = 0; t < n_types; t++) {
        const char *ty = types[t];
        char gguf[700];
        snprintf(gguf, sizeof gguf, "%s/m-%s.gguf", tmpl, ty);
        StrBuf o = {0};
        int rc = tu_runf(&o, "%s export gguf --model %s --out %s --type %s", tu_r1_bin(), dir, gguf, ty);
        EXPECTF(rc == 0, "export %s: %s", ty, o.s);
        sb_free(&o);
        int ltok[NNEW], V = 0;
        double *lp = NULL;
        if (rc || run_llamacpp(gguf, ltok, &lp, &V)) { EXPECTF(0, "llama.cpp failed on %s", gguf); continue; }
        Diff a, b;
        if (!strcmp(ty, "f32")) {
            EXPECT(compare(dir, tmpl, ltok, lp, V, 0, &a) == 0);
            printf("  f32: max|dp| %.2e, max|dlogp| %.2e, max|z| %.2f\n", a.p, a.logp, a.zmax);
            EXPECTF(a.p <= 1e-3, "f32: probabilities differ by %.3g > 1e-3", a.p);
            EXPECTF(a.token_mismatch + a.unsure_steps == 0, "f32: %d greedy tokens differ", a.token_mismatch + a.unsure_steps);
        } else {
            double u = !strcmp(ty, "f16") ? 1.0 / 2048 : !strcmp(ty, "bf16") ? 1.0 / 256 : 1.0 / 254 + 1.0 / 2048;
            EXPECT(compare(gguf, tmpl, ltok, lp, V, 0, &a) == 0);
            double zerr = rounded_in_series(cfg) * u * a.zmax;
            EXPECT(compare(gguf, tmpl, ltok, lp, V, zerr, &a) == 0);
            EXPECT(compare(dir, tmpl, ltok, lp, V, 2 * zerr, &b) == 0);
            printf("  %s: same weights max|dlogp| %.2e (allowed %.2e), vs f32 model %.2e (allowed %.2e), max|z| %.2f, "
                   "max|dp| %.2e / %.2e, near-tie steps %d / %d\n",
                   ty, a.logp, 2 * zerr, b.logp, 4 * zerr, a.zmax, a.p, b.p, a.unsure_steps, b.unsure_steps);
            EXPECTF(a.logp <= 2 * zerr && a.p <= 2 * zerr, "%s: llama.cpp vs r1 on the same weights: dlogp %.3g, dp %.3g > %.3g", ty, a.logp, a.p, 2 * zerr);
            EXPECTF(b.logp <= 4 * zerr && b.p <= 4 * zerr, "%s: llama.cpp vs r1's f32 model: dlogp %.3g, dp %.3g > %.3g", ty, b.logp, b.p, 4 * zerr);
            EXPECTF(a.token_mismatch == 0 && b.token_mismatch == 0, "%s: greedy tokens differ beyond a near tie", ty);
        }
        free(lp);
    }
    tu_rm_tree(tmpl);
}

/* Each model family against llama.cpp, in the weight types worth checking for it. */
typedef struct ModelCase {
    const char *test, *cfg;
    uint64_t seed;
    const char *types[4];
} ModelCase;
static const ModelCase MODELS[] = {
    {"test_llamacpp_qlora_yarn_groups", GG_CFG_QLORA_YARN, 11, {"f32", "f16", "bf16", "q8_0"}},
    {"test_llamacpp_single_q_no_groups", GG_CFG_PLAIN_Q, 12, {"f32", "q8_0"}},
    {"test_llamacpp_softmax_routing", GG_CFG_SOFTMAX, 13, {"f32", "bf16"}},
    {"test_llamacpp_llama_gqa_bias_llama3", GG_CFG_LLAMA, 14, {"f32", "f16", "bf16", "q8_0"}},
    {"test_llamacpp_llama_tied_mqa", GG_CFG_LLAMA_TIED, 15, {"f32", "q8_0"}},
    {"test_llamacpp_qwen2", GG_CFG_QWEN2, 16, {"f32", "f16", "bf16", "q8_0"}},
    {"test_llamacpp_qwen2_tied", GG_CFG_QWEN2_TIED, 17, {"f32", "bf16"}},
};
static const ModelCase *model_case;   /* the one test_llamacpp_model runs */

static void test_llamacpp_model(void) {
    int n = 0;
    while (n < 4 && model_case->types[n]) n++;
    check_model(model_case->cfg, model_case->seed, model_case->types, n);
}

/* llama.cpp's ids (no BOS) of each text of the JSON array in texts_path, tokenized with gguf's
 * vocabulary; NULL on failure (reason printed). */
static cJSON *llamacpp_tokenize(const char *gguf, const char *texts_path) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "node tools/llamacpp_probs.js --tokenize %s %s", gguf, texts_path);
    StrBuf o = {0};
    int status = 0;
    cJSON *got = tu_capture(cmd, &o, &status) == 0 && status == 0 ? cJSON_Parse(o.s) : NULL;
    if (!got) printf("  %s: status %d: %.200s\n", cmd, status, o.s ? o.s : "");
    sb_free(&o);
    return got;
}

/* Texts whose ids differ between got and want (arrays of id arrays); the first few are named,
 * unless diff (then diff[i] marks them). */
static int count_differing(const cJSON *got, const cJSON *want, const char *label, unsigned char *diff) {
    int n = cJSON_GetArraySize(want), bad = 0;
    EXPECTF(cJSON_GetArraySize(got) == n, "%s: %d results for %d texts", label, cJSON_GetArraySize(got), n);
    for (int i = 0; i < n && cJSON_GetArraySize(got) == n; i++) {
        int same = cJSON_Compare(cJSON_GetArrayItem(got, i), cJSON_GetArrayItem(want, i), 1);
        if (diff) diff[i] = !same;
        if (!same && bad++ < 3 && !diff) printf("  %s: text %d: llama.cpp's ids differ from Hugging Face's\n", label, i);
    }
    return bad;
}

/* The vocabulary, merges, added tokens and pre-tokenizer name in the file make llama.cpp encode
 * the 90-text corpus (scripts, code, digits, whitespace runs, special tokens) exactly as Hugging
 * Face's DeepSeek-V3 tokenizer does (tests/fixtures/tokenizer/v3_expected.json). The pruned
 * tokenizer keeps DeepSeek-V3's ids, so the file also carries [PAD] rows for the holes. */
static void test_llamacpp_v3_tokenizer(void) {
    SKIP_IF(no_llamacpp());
    static const char cfg[] =
        "{\"model_type\":\"deepseek_v3\",\"vocab_size\":129280,\"hidden_size\":16,\"num_hidden_layers\":1,"
        "\"first_k_dense_replace\":1,\"intermediate_size\":16,\"num_attention_heads\":1,\"q_lora_rank\":null,"
        "\"kv_lora_rank\":8,\"qk_nope_head_dim\":8,\"qk_rope_head_dim\":8,\"v_head_dim\":8,\"n_routed_experts\":0,"
        "\"norm_topk_prob\":false,\"max_position_embeddings\":64,\"bos_token_id\":0,\"eos_token_id\":1}";
    char tmpl[] = "/tmp/r1gguf.XXXXXX", dir[600], gguf[700];
    if (tu_mkdtemp_sub(tmpl, "m", dir, sizeof dir)) { EXPECT(0); return; }
    EXPECT(tu_save_model(dir, cfg, 1) == 0);
    StrBuf o = {0};
    snprintf(gguf, sizeof gguf, "%s/m.gguf", tmpl);
    int rc = tu_runf(&o, "cp tests/fixtures/tokenizer/v3_pruned.tokenizer.json %s/tokenizer.json && "
                         "%s export gguf --model %s --out %s --type bf16", dir, tu_r1_bin(), dir, gguf);
    EXPECTF(rc == 0, "export: %s", o.s);
    cJSON *got = rc ? NULL : llamacpp_tokenize(gguf, "tests/fixtures/tokenizer/v3_corpus.json");
    char *want_s = tu_slurp("tests/fixtures/tokenizer/v3_expected.json");
    cJSON *want = cJSON_Parse(want_s);
    EXPECT(got && cJSON_GetArraySize(want) == 90);
    if (got) {
        int bad = count_differing(got, want, "deepseek-v3", NULL);
        EXPECTF(bad == 0, "%d of 90 texts encode differently in llama.cpp", bad);
    }
    cJSON_Delete(got);
    cJSON_Delete(want);
    free(want_s);
    sb_free(&o);
    tu_rm_tree(tmpl);
}

/* The same for the Qwen3 and Llama-3.1 tokenizer.json files on the 141-text families corpus
 * (pre-tokenizers "qwen2" and "llama-bpe"). llama.cpp runs no normalizer, so it is given each text
 * as Hugging Face normalizes it (HF's decoded text: Qwen's NFC; Llama-3 has none) and must encode
 * every one exactly; the raw texts NFC changes are then tokenized too and the ones llama.cpp
 * encodes differently counted (printed; every other text must still match). */
static void test_llamacpp_family_tokenizers(void) {
    SKIP_IF(no_llamacpp());
    char tmpl[] = "/tmp/r1gguf.XXXXXX", dir[400], gguf[400], texts[400];
    if (!mkdtemp(tmpl)) { EXPECT(0); return; }
    for (int f = 0; f < 2; f++) {
        const GgFamily *fam = &GG_FAMILIES[f];
        snprintf(dir, sizeof dir, "%s/%s", tmpl, fam->name);
        snprintf(gguf, sizeof gguf, "%s/%s.gguf", tmpl, fam->name);
        snprintf(texts, sizeof texts, "%s/%s-normalized.json", tmpl, fam->name);
        EXPECT(gg_family_folder(dir, f) == 0);
        StrBuf o = {0};
        int rc = tu_runf(&o, "%s export gguf --model %s --out %s --type q8_0", tu_r1_bin(), dir, gguf);
        EXPECTF(rc == 0, "export: %s", o.s);
        sb_free(&o);
        char *ws = tu_slurp(fam->expected);
        cJSON *want = cJSON_Parse(ws), *ids = cJSON_GetObjectItem(want, "ids"), *dec = cJSON_GetObjectItem(want, "decoded");
        Err e = {0};
        EXPECT(json_save_file(dec, texts, &e) == 0);
        cJSON *got = rc ? NULL : llamacpp_tokenize(gguf, texts);
        int n = cJSON_GetArraySize(ids);
        EXPECT(got && n > 130);
        if (got) {
            int bad = count_differing(got, ids, fam->name, NULL);
            printf("  %s: %d of %d normalized texts encode differently in llama.cpp\n", fam->name, bad, n);
            EXPECTF(bad == 0, "%s: %d of %d texts encode differently in llama.cpp", fam->name, bad, n);
        }
        cJSON_Delete(got);
        got = rc || !fam->normalizes ? NULL : llamacpp_tokenize(gguf, "tests/fixtures/tokenizer/families_corpus.json");
        if (got) {
            char *cs = tu_slurp("tests/fixtures/tokenizer/families_corpus.json");
            cJSON *corpus = cJSON_Parse(cs);
            unsigned char *diff = xcalloc((size_t)n, 1);
            int bad = count_differing(got, ids, "raw text", diff), changed = 0, other = 0;
            for (int i = 0; i < n; i++) {
                int nfc = strcmp(cJSON_GetArrayItem(corpus, i)->valuestring, cJSON_GetArrayItem(dec, i)->valuestring) != 0;
                changed += nfc;
                other += diff[i] && !nfc;
            }
            printf("  %s: raw text: %d of the %d texts NFC changes encode differently (llama.cpp does not normalize)\n",
                   fam->name, bad - other, changed);
            EXPECTF(other == 0, "%s: %d texts NFC leaves alone encode differently", fam->name, other);
            free(diff);
            cJSON_Delete(corpus);
            free(cs);
        }
        cJSON_Delete(got);
        cJSON_Delete(want);
        free(ws);
    }
    tu_rm_tree(tmpl);
}

/* A distilled student: `r1 distill` trains a qwen2 student (the pipeline's family) on a small
 * arithmetic chat set in a few hundred fast steps, `r1 export gguf` writes it (f32, with the
 * tokenizer r1 trained), and llama.cpp continues each chat prompt (its own tokenization of the
 * rendered text, greedy, until its end-of-generation token) with the text `r1 generate` writes,
 * from the folder and from the .gguf file. */
static void test_llamacpp_distilled_student(void) {
    SKIP_IF(no_llamacpp());
    static const char *const questions[3] = {"Compute 4+8.", "Compute 9+3.", "Compute 6+7."};
    char tmpl[] = "/tmp/r1gguf.XXXXXX";
    if (!mkdtemp(tmpl)) { EXPECT(0); return; }
    const char *r = tu_r1_bin();
    StrBuf o = {0};
    tu_put(tu_path(tmpl, "qwen2.json"),
           "{\"model_type\": \"qwen2\", \"vocab_size\": 320, \"hidden_size\": 32, \"intermediate_size\": 64,"
           " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
           " \"max_position_embeddings\": 256, \"tie_word_embeddings\": true}");
    int rc = tu_runf(&o, "%s data make --task=arith --level=1 --n=300 --format=pretrain --seed=1 --out=%s/pt.jsonl "
                     "--text-out=%s/pt.txt", r, tmpl, tmpl);
    if (rc == 0) rc = tu_runf(&o, "%s data make --task=arith --level=1 --n=40 --format=sft --seed=2 --out=%s/sft.jsonl", r, tmpl);
    if (rc == 0) rc = tu_runf(&o, "%s tokenizer train --data=%s/pt.txt --vocab-size=300 --out=%s/tok/tokenizer.json --quiet", r, tmpl, tmpl);
    if (rc == 0)
        rc = tu_runf(&o, "%s distill --data=%s/sft.jsonl --student-config=%s/qwen2.json --tokenizer=%s/tok/tokenizer.json "
                     "--out=%s/st --steps=200 --batch=8 --seq-len=96 --learning-rate=3e-3 --quiet --threads=1", r, tmpl, tmpl, tmpl, tmpl);
    if (rc == 0) rc = tu_runf(&o, "%s export gguf --model %s/st --out %s/st.gguf", r, tmpl, tmpl);
    EXPECTF(rc == 0, "student: %s", o.s);
    FILE *f = fopen(tu_path(tmpl, "prompts.jsonl"), "w");
    for (int i = 0; f && i < 3; i++) fprintf(f, "{\"prompt\": \"%s\"}\n", questions[i]);
    if (f) fclose(f);
    cJSON *from_dir = NULL, *from_gguf = NULL;
    for (int k = 0; k < 2 && rc == 0; k++) {
        rc = tu_runf(&o, "%s generate --model %s/%s --prompts %s/prompts.jsonl --temperature 0 --max-tokens 48 "
                     "--threads 1 --quiet --out %s/gen%d.jsonl", r, tmpl, k ? "st.gguf" : "st", tmpl, tmpl, k);
        EXPECTF(rc == 0, "generate: %s", o.s);
        char path[64];
        snprintf(path, sizeof path, "gen%d.jsonl", k);
        char *txt = rc ? NULL : tu_slurp(tu_path(tmpl, path));
        cJSON *arr = cJSON_CreateArray();
        for (char *line = txt ? strtok(txt, "\n") : NULL; line; line = strtok(NULL, "\n")) cJSON_AddItemToArray(arr, cJSON_Parse(line));
        free(txt);
        *(k ? &from_gguf : &from_dir) = arr;
    }
    for (int i = 0; i < 3 && rc == 0; i++) {
        ChatMessage msg = {"user", questions[i]};
        StrBuf prompt = {0};
        Err e = {0};
        EXPECT(chat_render(&msg, 1, 1, &prompt, &e) == 0);
        tu_put(tu_path(tmpl, "prompt.txt"), prompt.s);
        sb_free(&prompt);
        char cmd[700];
        snprintf(cmd, sizeof cmd, "node tools/llamacpp_probs.js --generate %s/st.gguf %s/prompt.txt 48", tmpl, tmpl);
        int status = 0;
        sb_clear(&o);
        cJSON *l = tu_capture(cmd, &o, &status) == 0 && status == 0 ? cJSON_Parse(o.s) : NULL;
        const cJSON *a = cJSON_GetArrayItem(from_dir, i), *b = cJSON_GetArrayItem(from_gguf, i);
        const char *lt = cJSON_GetStringValue(cJSON_GetObjectItem(l, "text")), *at = cJSON_GetStringValue(cJSON_GetObjectItem(a, "completion")),
                   *bt = cJSON_GetStringValue(cJSON_GetObjectItem(b, "completion"));
        const char *lf = cJSON_GetStringValue(cJSON_GetObjectItem(l, "finish")), *af = cJSON_GetStringValue(cJSON_GetObjectItem(a, "finish"));
        EXPECTF(lt && at && bt && lf && af, "%s: no output (llama.cpp status %d: %.200s)", questions[i], status, o.s);
        if (lt && at && bt && lf && af) {
            printf("  %s -> ", questions[i]);
            for (const char *c = at; *c; c++) fputs(*c == '\n' ? "\\n" : (char[2]){*c, 0}, stdout);
            printf("\n");
            EXPECTF(!strcmp(lt, at) && !strcmp(lf, af), "%s: llama.cpp '%s' (%s), r1 generate '%s' (%s)", questions[i], lt, lf, at, af);
            EXPECTF(!strcmp(bt, at), "%s: r1 on the .gguf '%s', on the folder '%s'", questions[i], bt, at);
            EXPECTF(cJSON_GetArraySize(cJSON_GetObjectItem(l, "tokens")) >= 8, "%s: only '%s'", questions[i], lt);
        }
        cJSON_Delete(l);
    }
    cJSON_Delete(from_dir);
    cJSON_Delete(from_gguf);
    sb_free(&o);
    tu_rm_tree(tmpl);
}

int main(void) {
    for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++) {
        model_case = &MODELS[i];
        test_run(MODELS[i].test, test_llamacpp_model);
    }
    RUN(test_llamacpp_v3_tokenizer);
    RUN(test_llamacpp_family_tokenizers);
    RUN(test_llamacpp_distilled_student);
    return TEST_EXIT();
}
