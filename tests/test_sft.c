/* SFT and distillation: completion-only targets, packing boundaries, epochs, truncation, a tiny
 * model that memorises a tiny SFT set (loss bound + greedy generation of the answer), bit-exact
 * resume, and the one-line errors of bad records and a student with routed experts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/threads.h"
#include "infer/generate.h"
#include "io/file.h"
#include "model/model.h"
#include "model/model_io.h"
#include "tokenizer/chat.h"
#include "tokenizer/train.h"
#include "train/checkpoint.h"
#include "train/sft.h"
#include "train/sft_data.h"
#include "rl/sft_eval.h"
#include "test.h"
#include "test_util.h"

static char dir[64] = "/tmp/r1_sft_XXXXXX";
static char model_dir[128], tok_path[192], data_path[192];
static Tokenizer *tok;

static const char *DENSE_CFG = TU_TINY_DENSE_CFG;
static const char *MOE_CFG = TU_TINY_MOE_CFG;

static const char *QA[][2] = {
    {"What is 3+4?", "<think>\n3+4=7\n</think>\n\n<answer>7</answer>"},
    {"What is 5+6?", "<think>\n5+6=11\n</think>\n\n<answer>11</answer>"},
    {"What is 2*9?", "<think>\n2*9=18\n</think>\n\n<answer>18</answer>"},
    {"What is 8-3?", "<think>\n8-3=5\n</think>\n\n<answer>5</answer>"},
};

static int setup(void) {
    if (tu_mkdtemp_sub(dir, "base", model_dir, sizeof model_dir)) return -1;
    Err e = {0};
    StrBuf corpus = {0};
    for (int i = 0; i < 400; i++)
        sb_printf(&corpus, "What is %d+%d? <think>\n%d+%d=%d\n</think>\n\n<answer>%d</answer>\n", i % 9, i % 7,
                  i % 9, i % 7, i % 9 + i % 7, i % 9 + i % 7);
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", model_dir);
    int rc = tu_train_tokenizer(corpus.s, corpus.len, 300, tok_path);
    sb_free(&corpus);
    if (rc) return -1;
    tok = tokenizer_load(tok_path, &e);
    if (!tok) return -1;
    if (tu_save_model(model_dir, DENSE_CFG, 3)) return -1;
    /* the tiny SFT set, messages and prompt/completion shapes */
    StrBuf d = {0};
    for (int i = 0; i < 4; i++) {
        cJSON *r = cJSON_CreateObject();
        if (i % 2 == 0) {
            cJSON *msgs = cJSON_AddArrayToObject(r, "messages");
            cJSON *u = cJSON_CreateObject();
            cJSON_AddStringToObject(u, "role", "user");
            cJSON_AddStringToObject(u, "content", QA[i][0]);
            cJSON *a = cJSON_CreateObject();
            cJSON_AddStringToObject(a, "role", "assistant");
            cJSON_AddStringToObject(a, "content", QA[i][1]);
            cJSON_AddItemToArray(msgs, u);
            cJSON_AddItemToArray(msgs, a);
        } else {
            cJSON_AddStringToObject(r, "prompt", QA[i][0]);
            cJSON_AddStringToObject(r, "completion", QA[i][1]);
        }
        char *s = cJSON_PrintUnformatted(r);
        sb_printf(&d, "%s\n", s);
        free(s);
        cJSON_Delete(r);
    }
    snprintf(data_path, sizeof data_path, "%s/sft.jsonl", dir);
    rc = tu_write_text(data_path, d.s);
    sb_free(&d);
    return rc;
}

static void encode_str(const char *s, TokIds *out) {
    Err e;
    out->n = 0;
    tokenizer_encode(tok, s, strlen(s), out, &e);
}

/* Every prompt position -1, every completion position its next token (EOS included), the
 * boundary between packed examples and the padding -1; the prompt ends with the generation
 * prompt and the completion does not repeat <think>. */
static void test_masks(void) {
    Err e = {0};
    SftSet s = {0};
    SftDataOptions d = {128, 0};
    EXPECTF(sft_load_jsonl(&s, tok, data_path, &d, &e) == 0, "%s", e.msg);
    EXPECT(s.n == 4 && s.truncated == 0 && s.dropped == 0);
    int eos = (int)tokenizer_eos_id(tok);
    for (int k = 0; k < s.n; k++) {
        /* expected: render(user) + gen prompt, then the completion minus "<think>\n", then EOS */
        StrBuf p = {0};
        ChatMessage m = {"user", QA[k][0]};
        chat_render(&m, 1, 1, &p, &e);
        EXPECT(p.len > strlen(CHAT_ASSISTANT "<think>\n") &&
               strcmp(p.s + p.len - strlen(CHAT_ASSISTANT "<think>\n"), CHAT_ASSISTANT "<think>\n") == 0);
        TokIds ip = {0}, ic = {0};
        encode_str(p.s, &ip);
        encode_str(QA[k][1] + strlen("<think>\n"), &ic);
        const SftExample *x = &s.ex[k];
        EXPECT(x->n_prompt == (int)ip.n && x->n == (int)(ip.n + ic.n + 1));
        int same = 1;
        for (size_t i = 0; i < ip.n && same; i++) same = x->tok[i] == (int)ip.v[i];
        for (size_t i = 0; i < ic.n && same; i++) same = x->tok[ip.n + i] == (int)ic.v[i];
        EXPECT(same && x->tok[x->n - 1] == eos);
        tokids_free(&ip); tokids_free(&ic); sb_free(&p);
    }
    /* two examples in one row of T = n0 + n1 + 5 */
    int n0 = s.ex[0].n, n1 = s.ex[1].n, T = n0 + n1 + 5;
    int tokens[256], targets[256];
    SftBatcher b;
    sft_batcher_init(&b, &s, 1, 0);
    int n_loss = sft_batcher_row(&b, T, 7, tokens, targets);
    EXPECT(b.pos == 2 && b.epoch == 0);
    EXPECT(n_loss == (n0 - s.ex[0].n_prompt) + (n1 - s.ex[1].n_prompt));
    int bad = 0;
    for (int k = 0, off = 0; k < 2; off += s.ex[k].n, k++) {
        const SftExample *x = &s.ex[k];
        for (int i = 0; i < x->n; i++) {
            int want = (i + 1 < x->n && i + 1 >= x->n_prompt) ? x->tok[i + 1] : -1;
            bad += tokens[off + i] != x->tok[i] || targets[off + i] != want;
        }
        bad += targets[off + x->n - 2] != eos;       /* EOS is a target */
        bad += targets[off + x->n_prompt - 2] != -1; /* the last prompt token is not */
        bad += targets[off + x->n_prompt - 1] != x->tok[x->n_prompt];   /* first completion token is */
    }
    for (int i = n0 + n1; i < T; i++) bad += tokens[i] != 7 || targets[i] != -1;
    EXPECT(bad == 0);
    sft_batcher_free(&b);
    sft_set_free(&s);
}

/* Rows never split an example; a shuffled epoch is a permutation, repeats under the same seed,
 * and the cursor wraps into the next epoch. Truncation and drop_long are counted. */
static void test_packing_epochs(void) {
    Err e = {0};
    SftSet s = {0};
    SftDataOptions d = {128, 0};
    EXPECT(sft_load_tasks(&s, tok, "arith", 1, 12, 5, &d, &e) == 0);
    int T = 0;
    for (int i = 0; i < s.n; i++) if (s.ex[i].n > T) T = s.ex[i].n;   /* one example per row at most + */
    int tokens[256], targets[256];
    SftBatcher b, b2;
    sft_batcher_init(&b, &s, 9, 1);
    sft_batcher_init(&b2, &s, 9, 1);
    int seen[64] = {0}, rows = 0, loss_total = 0;
    while (b.epoch == 0 && rows < 100) {
        int before = (int)b.pos;
        loss_total += sft_batcher_row(&b, T, 0, tokens, targets);
        sft_batcher_row(&b2, T, 0, tokens + 128, targets + 128);
        EXPECT(memcmp(tokens, tokens + 128, sizeof(int) * (size_t)T) == 0);
        int after = b.epoch ? s.n : (int)b.pos;
        EXPECT(after > before);                   /* at least one whole example per row */
        for (int i = before; i < after; i++) seen[b.order[i]]++;
        rows++;
    }
    int perm = 1;
    for (int i = 0; i < s.n; i++) perm &= seen[i] == 1;
    EXPECT(perm && b.epoch == 1 && b.pos == 0);
    int expect_loss = 0;
    for (int i = 0; i < s.n; i++) expect_loss += s.ex[i].n - s.ex[i].n_prompt;
    EXPECT(loss_total == expect_loss);
    /* epoch 1 is another order */
    uint32_t o0[64];
    memcpy(o0, b.order, sizeof(uint32_t) * (size_t)s.n);
    sft_batcher_row(&b, T, 0, tokens, targets);
    EXPECT(memcmp(o0, b.order, sizeof(uint32_t) * (size_t)s.n) != 0);
    sft_batcher_free(&b);
    sft_batcher_free(&b2);
    /* truncation / dropping */
    SftSet t = {0}, u = {0};
    int shortest = 1 << 30, prompt_max = 0;
    for (int i = 0; i < s.n; i++) {
        if (s.ex[i].n < shortest) shortest = s.ex[i].n;
        if (s.ex[i].n_prompt > prompt_max) prompt_max = s.ex[i].n_prompt;
    }
    SftDataOptions dt = {prompt_max + 2, 0}, dd = {prompt_max + 2, 1};
    EXPECT(sft_load_tasks(&t, tok, "arith", 1, 12, 5, &dt, &e) == 0);
    EXPECT(sft_load_tasks(&u, tok, "arith", 1, 12, 5, &dd, &e) == 0);
    EXPECT(t.truncated == 12 && t.n == 12 && u.dropped == 12 && u.n == 0);
    int ok = 1;
    for (int i = 0; i < t.n; i++) ok &= t.ex[i].n == prompt_max + 2;
    EXPECT(ok);
    sft_set_free(&t);
    sft_set_free(&u);
    sft_set_free(&s);
}

static void test_bad_records(void) {
    Err e = {0};
    const char *p = tu_path(dir, "bad.jsonl");
    tu_write_text(p, "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"text\":\"no messages\"}\n");
    SftSet s = {0};
    SftDataOptions d = {128, 0};
    char want[300];
    snprintf(want, sizeof want, "%s:2:", p);
    EXPECTF(sft_load_jsonl(&s, tok, p, &d, &e) == -1 && strstr(e.msg, want) && strstr(e.msg, "messages") &&
                !strchr(e.msg, '\n'), "%s", e.msg);
    sft_set_free(&s);
    tu_write_text(p, "\n{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"user\",\"content\":\"y\"}]}\n");
    snprintf(want, sizeof want, "%s:2:", p);
    EXPECTF(sft_load_jsonl(&s, tok, p, &d, &e) == -1 && strstr(e.msg, want) && strstr(e.msg, "assistant"), "%s", e.msg);
    sft_set_free(&s);
    tu_write_text(p, "{\"prompt\":\"a\",\"answer\":\"4\"}\n");
    EXPECTF(sft_load_jsonl(&s, tok, p, &d, &e) == -1 && strstr(e.msg, ":1:") && strstr(e.msg, "completion"), "%s", e.msg);
    sft_set_free(&s);
    tu_write_text(p, "{not json\n");
    EXPECTF(sft_load_jsonl(&s, tok, p, &d, &e) == -1 && strstr(e.msg, ":1:"), "%s", e.msg);
    sft_set_free(&s);
}

static SftOptions small_run(const char *out) {
    SftOptions o = sft_defaults();
    o.model_dir = model_dir;
    o.data_path = data_path;
    o.run.out_dir = out;
    o.batch = 4;
    o.seq_len = 64;
    o.steps = 80;
    o.optim.learning_rate = 1e-2;
    o.optim.warmup_steps = 5;
    o.val_frac = 0;
    o.seed = 11;
    o.run.quiet = 1;
    return o;
}

/* The tiny model memorises 4 answers: train loss bound after 80 steps, and greedy decoding of
 * each prompt reproduces its answer. */
static void test_learns(void) {
    char out[160];
    snprintf(out, sizeof out, "%s/learn", dir);
    SftOptions o = small_run(out);
    SftResult res;
    Err e = {0};
    EXPECTF(sft_run(&o, &res, &e) == 0, "%s", e.msg);
    printf("  loss %.3f -> %.3f in %lld steps\n", res.first_loss, res.last_loss, (long long)res.steps_done);
    EXPECT(res.first_loss > 2.0 && res.last_loss < 0.2);   /* stated bound */
    Model m;
    EXPECTF(model_load_dir(&m, out, &e) == 0, "%s", e.msg);
    int eos = (int)tokenizer_eos_id(tok);
    int hits = 0;
    for (int k = 0; k < 4; k++) {
        StrBuf p = {0};
        ChatMessage msg = {"user", QA[k][0]};
        chat_render(&msg, 1, 1, &p, &e);
        TokIds ip = {0};
        encode_str(p.s, &ip);
        int ids[128];
        for (size_t i = 0; i < ip.n; i++) ids[i] = (int)ip.v[i];
        GenRequest rq = {ids, (int)ip.n, (uint64_t)k, 0};
        SamplerParams greedy = sampler_defaults();
        greedy.temperature = 0;
        GenOptions go = gen_options(greedy, 0, 32, NULL);
        go.stop_id = eos;
        GenOutput g;
        if (generate(&m, &rq, 1, &go, &g, NULL, &e) == 0) {
            StrBuf t = {0};
            tokenizer_decode(tok, (const uint32_t *)g.tokens, (size_t)g.n, 1, &t, &e);
            hits += t.s && strcmp(t.s, QA[k][1] + strlen("<think>\n")) == 0 && g.finish == GEN_EOS;
            if (k == 0) printf("  greedy: %s\n", t.s ? t.s : "");
            sb_free(&t);
            gen_outputs_free(&g, 1);
        }
        tokids_free(&ip);
        sb_free(&p);
    }
    EXPECTF(hits == 4, "%d of 4 answers reproduced", hits);
    model_free(&m);
}

/* Task-accuracy hook: the reference handed over is a held-out completion without its EOS. */
static int score_calls, score_ref_ok;
static double score_ref(void *ctx, const char *c, size_t n, const char *ref, size_t ref_n) {
    (void)ctx; (void)c; (void)n;
    score_calls++;
    for (int k = 0; k < 4; k++) {
        const char *want = QA[k][1] + strlen("<think>\n");
        if (ref_n == strlen(want) && memcmp(ref, want, ref_n) == 0) { score_ref_ok++; return 0.75; }
    }
    return 0;
}

/* N steps + resume + N steps == 2N steps, bit for bit (MoE model: the balancing bias too). */
static void test_resume_same_bits(void) {
    char moe[160], a[160], b[160], fa[200], fb[200];
    snprintf(moe, sizeof moe, "%s/moe", dir);
    EXPECT(tu_save_model(moe, MOE_CFG, 4) == 0);
    Err e = {0};
    char tp[200];
    snprintf(tp, sizeof tp, "%s/tokenizer.json", moe);
    size_t n;
    char *tj = file_read_all(tok_path, &n, &e);
    file_write_atomic(tp, tj, n, &e);
    free(tj);
    snprintf(a, sizeof a, "%s/ra", dir);
    snprintf(b, sizeof b, "%s/rb", dir);
    SftOptions o = small_run(a);
    o.model_dir = moe;
    o.steps = 6;
    o.batch = 1;
    o.seq_len = 40;          /* one example per row: several epochs in 6 steps */
    o.val_frac = 0.25;
    o.eval_every = 2;
    SftScorer scorer = {score_ref, NULL};
    o.accuracy = sft_greedy_accuracy;
    o.accuracy_ctx = &scorer;
    SftResult r1, r2;
    EXPECTF(sft_run(&o, &r1, &e) == 0, "%s", e.msg);
    o.run.out_dir = b;
    o.run.stop_after = 2;             /* mid-epoch: the data cursor matters */
    EXPECTF(sft_run(&o, &r2, &e) == 0, "%s", e.msg);
    EXPECT(r2.interrupted && r2.steps_done == 2);
    o.run.stop_after = 0;
    o.run.resume = 1;
    /* a resume that would change the maths is refused, naming the option; nothing is touched */
    o.optim.learning_rate *= 2;
    SftResult r3;
    EXPECTF(sft_run(&o, &r3, &e) == -1 && strstr(e.msg, "--learning-rate") && strstr(e.msg, "step-2"), "%s", e.msg);
    o.optim.learning_rate /= 2;
    o.seed++;
    EXPECTF(sft_run(&o, &r3, &e) == -1 && strstr(e.msg, "--seed"), "%s", e.msg);
    o.seed--;
    EXPECTF(sft_run(&o, &r2, &e) == 0, "%s", e.msg);
    EXPECT(r2.steps_done == 6 && !r2.interrupted);
    snprintf(fa, sizeof fa, "%s/model.safetensors", a);
    snprintf(fb, sizeof fb, "%s/model.safetensors", b);
    EXPECT(tu_same_file(fa, fb));
    snprintf(fa, sizeof fa, "%s/metrics.jsonl", a);
    snprintf(fb, sizeof fb, "%s/metrics.jsonl", b);
    /* losses equal line by line (tokens/s differ) */
    char *x = file_read_all(fa, NULL, &e), *y = file_read_all(fb, NULL, &e);
    int lines = 0, same = x && y;
    for (char *p = x, *q = y; same && p && q && *p; lines++) {
        char *pl = strstr(p, "\"tokens_per_s\""), *ql = strstr(q, "\"tokens_per_s\"");
        same = pl && ql && pl - p == ql - q && memcmp(p, q, (size_t)(pl - p)) == 0;
        p = strchr(p, '\n'); q = strchr(q, '\n');
        if (p) p++;
        if (q) q++;
    }
    EXPECT(same && lines == 6);
    free(x); free(y);
    snprintf(fa, sizeof fa, "%s/tokenizer.json", b);
    EXPECT(file_exists(fa));
    EXPECT(!isnan(r1.val_loss) && r1.val_loss == r2.val_loss);
    /* --resume with nothing to resume is an error; a folder holding a run needs --resume */
    o.run.out_dir = tu_path(dir, "empty");
    EXPECTF(sft_run(&o, &r3, &e) == -1 && strstr(e.msg, "no checkpoint"), "%s", e.msg);
    o.run.out_dir = a;
    o.run.resume = 0;
    EXPECTF(sft_run(&o, &r3, &e) == -1 && strstr(e.msg, "--resume"), "%s", e.msg);
    /* evals at steps 2, 4, 6 with one held-out prompt: the scorer sees the right reference each time
     * (a completion holding ids the tokenizer lacks scores 0 without a call) */
    EXPECTF(score_calls >= 2 && score_ref_ok == score_calls && r1.accuracy == 0.75 && r2.accuracy == 0.75, "%d %d %g",
            score_calls, score_ref_ok, r1.accuracy);
    snprintf(fa, sizeof fa, "%s/metrics.jsonl", a);
    x = file_read_all(fa, NULL, &e);
    EXPECT(x && strstr(x, "\"accuracy\": 0.75"));
    free(x);
}

/* Distillation: a dense student from a config trains; one with routed experts is refused. */
static void test_distill(void) {
    char cfgp[200], out[160];
    snprintf(cfgp, sizeof cfgp, "%s/student.json", dir);
    snprintf(out, sizeof out, "%s/student", dir);
    Err e = {0};
    SftOptions o = sft_defaults();
    o.config_path = cfgp;
    o.tokenizer_path = tok_path;
    o.require_dense = 1;
    o.data_path = data_path;
    o.run.out_dir = out;
    o.batch = 2; o.seq_len = 64; o.steps = 4; o.val_frac = 0; o.run.quiet = 1;
    tu_write_text(cfgp, MOE_CFG);
    SftResult r;
    EXPECTF(sft_run(&o, &r, &e) == -1 && strstr(e.msg, "student.json") && strstr(e.msg, "dense") &&
                !strchr(e.msg, '\n'), "%s", e.msg);
    tu_write_text(cfgp, DENSE_CFG);
    EXPECTF(sft_run(&o, &r, &e) == 0, "%s", e.msg);
    char f[220];
    snprintf(f, sizeof f, "%s/model.safetensors", out);
    EXPECT(r.steps_done == 4 && file_exists(f) && r.last_loss < r.first_loss);
    /* --init from a folder of the same config */
    o.init_dir = model_dir;
    o.run.resume = 0;
    snprintf(out, sizeof out, "%s/student2", dir);
    o.run.out_dir = out;
    EXPECTF(sft_run(&o, &r, &e) == 0, "%s", e.msg);
}

int main(void) {
    threads_set(2);
    if (setup() != 0) { printf("FAIL setup\n"); return 1; }
    RUN(test_masks);
    RUN(test_packing_epochs);
    RUN(test_bad_records);
    RUN(test_learns);
    RUN(test_resume_same_bits);
    RUN(test_distill);
    tokenizer_free(tok);
    return tu_finish(dir);
}
