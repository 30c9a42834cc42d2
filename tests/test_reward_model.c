/* Reward model (rl/reward_model.h): the Bradley–Terry gradient points the right way, RMs trained
 * on the built-in helpful and harmless pairs learn what the text shows, by a stated margin on pairs
 * they never saw, a training run resumes bit for bit, RM folders round-trip (and the policy loader
 * refuses them), bad data files name file:line, and `r1 rm train` / `r1 rm score` through the
 * binary (env R1, default build/r1). */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/threads.h"
#include "io/file.h"
#include "model/config.h"
#include "model/model.h"
#include "model/model_io.h"
#include "model/params.h"
#include "rl/align.h"
#include "rl/grpo.h"
#include "rl/reward_model.h"
#include "rl/rm_train.h"
#include "tokenizer/train.h"
#include "train/checkpoint.h"
#include "test.h"
#include "test_util.h"

static char dir[64] = "/tmp/r1_rm_XXXXXX";
static char base_dir[128];

static int setup(void) {
    if (tu_mkdtemp_sub(dir, "base", base_dir, sizeof base_dir)) return -1;
    Err e = {0};
    /* a tokenizer trained on the built-in data's own text */
    StrBuf corpus = {0};
    const char *kinds[2] = {"helpful", "harmless"};
    for (int k = 0; k < 2; k++) {
        RmData d;
        if (rm_data_builtin(&d, kinds[k], 200, 99, 0, &e)) return -1;
        for (int i = 0; i < d.n; i++) sb_printf(&corpus, "%s\n%s\n%s\n", d.it[i].prompt, d.it[i].chosen, d.it[i].rejected);
        rm_data_free(&d);
    }
    int rc = tu_train_tokenizer(corpus.s, corpus.len, 500, tu_path(base_dir, "tokenizer.json"));
    sb_free(&corpus);
    if (rc) return -1;
    const char *cfg_json =
        "{\"vocab_size\": 520, \"hidden_size\": 48, \"intermediate_size\": 96, \"moe_intermediate_size\": 24,"
        " \"num_hidden_layers\": 2, \"first_k_dense_replace\": 1, \"num_attention_heads\": 2,"
        " \"q_lora_rank\": null, \"kv_lora_rank\": 16, \"qk_nope_head_dim\": 8, \"qk_rope_head_dim\": 8,"
        " \"v_head_dim\": 8, \"n_routed_experts\": 4, \"n_shared_experts\": 1, \"num_experts_per_tok\": 2,"
        " \"routed_scaling_factor\": 1.0, \"max_position_embeddings\": 256, \"rope_scaling\": null,"
        " \"num_nextn_predict_layers\": 1}";
    return tu_save_model(base_dir, cfg_json, 3);
}

/* One BT step on a single pair raises r_chosen − r_rejected; a step with the pair swapped lowers it. */
static void test_bt_step_direction(void) {
    Err e = {0};
    RmData d;
    EXPECT(rm_data_builtin(&d, "helpful", 1, 5, 0, &e) == 0);
    for (int swap = 0; swap < 2; swap++) {
        RewardModel rm;
        EXPECTF(rm_init_from_policy(&rm, base_dir, 1, &e) == 0, "%s", e.msg);
        if (swap) { char *t = d.it[0].chosen; d.it[0].chosen = d.it[0].rejected; d.it[0].rejected = t; }
        const char *p[2] = {d.it[0].prompt, d.it[0].prompt}, *r[2] = {d.it[0].chosen, d.it[0].rejected};
        double before[2], after[2];
        EXPECT(rm_score(&rm, 2, p, r, before, &e) == 0);
        RmTrainOptions o = rm_train_defaults();
        o.epochs = 1; o.batch = 1; o.val_frac = 0; o.run.quiet = 1; o.optim.learning_rate = 1e-3;
        RmTrainResult res;
        EXPECTF(rm_train(&rm, &d, &o, &res, &e) == 0, "%s", e.msg);
        EXPECT(rm_score(&rm, 2, p, r, after, &e) == 0);
        printf("  margin %.5f -> %.5f\n", before[0] - before[1], after[0] - after[1]);
        EXPECT(after[0] - after[1] > before[0] - before[1] + 1e-4);
        rm_free(&rm);
    }
    rm_data_free(&d);
}

/* Trains rm (from the base) on n built-in `kind` items from seed 7, a quarter held out; prints the
 * outcome into res. Batch 8, AdamW at lr: constant when end_ratio is 1, else a cosine decay to
 * lr * end_ratio at the last step. */
static void train_builtin(RewardModel *rm, const char *kind, int n, int epochs, int pointwise, double lr,
                          double end_ratio, RmTrainResult *res) {
    Err e = {0};
    RmData d;
    EXPECT(rm_data_builtin(&d, kind, n, 7, pointwise, &e) == 0);
    EXPECTF(rm_init_from_policy(rm, base_dir, 1, &e) == 0, "%s", e.msg);
    RmTrainOptions o = rm_train_defaults();
    o.epochs = epochs; o.batch = 8; o.optim.learning_rate = lr; o.val_frac = 0.25; o.run.quiet = 1; o.seed = 3;
    if (end_ratio != 1) { o.optim.lr_scheduler = SCHED_COSINE; o.optim.min_lr_ratio = end_ratio; }
    EXPECTF(rm_train(rm, &d, &o, res, &e) == 0, "%s", e.msg);
    printf("  %s%s: %d train / %d held out, %d epochs, loss %.3f -> %.3f, held-out accuracy %.3f (before %.3f), %.1f s\n",
           kind, pointwise ? " (point-wise)" : "", res->n_train, res->n_val, epochs, res->first_loss, res->last_loss,
           res->val_acc, res->val_acc_before, res->seconds);
    rm_data_free(&d);
}

/* The helpful pairs cycle through four tasks (rm_data_builtin: item i is arith, linear, countdown,
 * chat for i % 4 = 0..3). Countdown's flawed answer is a failed attempt claimed as the result and
 * chat's is an unhelpful reply: both visible in the text. Arithmetic and linear pairs differ by a
 * slip of 1-3 in one step: checking the sum is beyond a 2-layer, 48-wide RM trained on 360 pairs,
 * its scores of the two nearly tie and their accuracy is a coin toss decided by rounding (0.41-0.61
 * measured) — so the check is on fresh countdown and chat pairs (seed 1234, never trained on), not
 * on a mixed held-out accuracy that half coin tosses would make fragile. Those coin-toss pairs keep
 * the loss near 0.35 and the gradient from vanishing: at a constant lr the trunk keeps moving, and
 * a learned task dipped to 0.88-0.97 at the last epoch in 8 of 224 runs (lr 2e-3 and 4e-3, 4 to 7
 * epochs, 4 model x 8 training seeds; 3 of them under 0.9). A cosine decay to lr/20 lets the
 * weights settle: fresh accuracy 1.000 on both tasks in all 136 runs with 4 to 7 epochs (the same
 * 32 seed pairs each, 8 more head seeds at 5); at 3 epochs one run had not yet learned chat (0.86).
 * 5 epochs. Chance is 0.5; bound 0.9. */
static void test_helpful_learns_visible_flaws(void) {
    RewardModel rm;
    RmTrainResult res;
    train_builtin(&rm, "helpful", 480, 5, 0, 4e-3, 0.05, &res);
    Err e = {0};
    RmData fresh;
    EXPECT(rm_data_builtin(&fresh, "helpful", 400, 1234, 0, &e) == 0);
    static const char *const TASKS[4] = {"arith", "linear", "countdown", "chat"};
    for (int k = 0; k < 4; k++) {
        int idx[100], m = 0;
        for (int i = k; i < fresh.n; i += 4) idx[m++] = i;
        double acc = 0, loss = 0;
        EXPECTF(rm_evaluate(&rm, &fresh, idx, m, &acc, &loss, &e) == 0, "%s", e.msg);
        printf("  fresh %s pairs: accuracy %.3f, loss %.3f\n", TASKS[k], acc, loss);
        if (k >= 2) EXPECTF(acc >= 0.9, "%s: accuracy %.3f on fresh pairs < 0.9", TASKS[k], acc);
    }
    rm_data_free(&fresh);
    rm_free(&rm);
}

/* An RM trained on the built-in harmless pairs: held-out accuracy at least `bound`. */
static void harmless_above(int epochs, int pointwise, double lr, double bound) {
    RewardModel rm;
    RmTrainResult res;
    train_builtin(&rm, "harmless", 240, epochs, pointwise, lr, 1, &res);
    EXPECTF(res.val_acc >= bound, "held-out accuracy %.3f < %.2f", res.val_acc, bound);
    rm_free(&rm);
}

/* Harmless pairs: a refusal vs compliance with a harmful request, compliance vs a needless refusal
 * with a harmless one. Bradley-Terry at lr 4e-3: held-out 1.000 after 3 epochs, train loss under
 * 0.01, in all 32 runs tried (4 model x 8 training seeds). Chance is 0.5; bound 0.9. */
static void test_harmless_beats_chance(void) { harmless_above(3, 0, 4e-3, 0.9); }

/* Point-wise, each reply alone must carry its label; for refusals the cue sits in the reasoning,
 * before an answer both labels share (the score reads the last token). At lr 4e-3 the loss
 * plateaus near 0.4 and then drops at epoch 2 to 4 depending on rounding (a test stopping at
 * epoch 3 sat on that cliff: 0.700 on one CPU, above 0.75 on another). At lr 2e-3 the plateau
 * is gone: held-out 1.000 after 2 epochs already in all 32 runs tried (4 model x 8 training
 * seeds; train loss 0.02-0.27), and after 3 and 6; 6 epochs leave 4 to spare. Chance is 0.5;
 * bound 0.9. */
static void test_harmless_pointwise(void) { harmless_above(6, 1, 2e-3, 0.9); }

/* Training as a run: N + N steps (stopped mid-epoch, resumed) == 2N steps, bit for bit (trunk,
 * head, moments, metrics); a resume that changes the maths is refused; --resume with nothing to
 * resume fails; the out folder is an RM folder. */
static void test_train_resume_same_bits(void) {
    Err e = {0};
    RmData d;
    EXPECT(rm_data_builtin(&d, "helpful", 24, 7, 0, &e) == 0);
    char full[128], split[128];
    snprintf(full, sizeof full, "%s/rm_full", dir);
    snprintf(split, sizeof split, "%s/rm_split", dir);
    RmTrainOptions o = rm_train_defaults();
    o.epochs = 3; o.batch = 5; o.val_frac = 0.25; o.seed = 3; o.run.quiet = 1;   /* 18 items: 4 steps an epoch */
    o.optim.learning_rate = 4e-3;
    RmTrainResult a, b;
    RewardModel rm;
    o.run.out_dir = full;
    EXPECTF(rm_init_from_policy(&rm, base_dir, 3, &e) == 0, "%s", e.msg);
    EXPECTF(rm_train(&rm, &d, &o, &a, &e) == 0, "%s", e.msg);
    rm_free(&rm);
    EXPECT(a.steps == 12 && !a.interrupted);
    o.run.out_dir = split;
    o.run.stop_after = 6;
    EXPECTF(rm_init_from_policy(&rm, base_dir, 3, &e) == 0, "%s", e.msg);
    EXPECTF(rm_train(&rm, &d, &o, &b, &e) == 0, "%s", e.msg);
    rm_free(&rm);
    EXPECT(b.interrupted && b.steps == 6);
    o.run.stop_after = 0;
    o.run.resume = 1;
    o.batch = 6;
    EXPECTF(rm_init_from_policy(&rm, base_dir, 3, &e) == 0, "%s", e.msg);
    EXPECTF(rm_train(&rm, &d, &o, &b, &e) == -1 && strstr(e.msg, "--batch") && strstr(e.msg, "step-6"), "%s", e.msg);
    o.batch = 5;
    EXPECTF(rm_train(&rm, &d, &o, &b, &e) == 0, "%s", e.msg);
    rm_free(&rm);
    EXPECT(!b.interrupted && b.val_acc == a.val_acc && b.last_loss == a.last_loss && b.first_loss == a.first_loss &&
           b.val_acc_before == a.val_acc_before);
    static const char *const same[] = {"model.safetensors", "config.json", "tokenizer.json",
                                       "checkpoints/step-12/trainer_state/optimizer.safetensors",
                                       "checkpoints/step-12/trainer_state/state.json"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        char pa[256], pb[256];
        snprintf(pa, sizeof pa, "%s/%s", full, same[i]);
        snprintf(pb, sizeof pb, "%s/%s", split, same[i]);
        EXPECTF(tu_same_file(pa, pb), "%s differs after resume", same[i]);
    }
    double la[16], lb[16];
    int na = tu_read_metric(full, "loss", la, 16), nb = tu_read_metric(split, "loss", lb, 16);
    EXPECT(na == 13 && nb == 13);   /* 12 steps and the final evaluation */
    for (int i = 0; i < na && i < nb; i++) EXPECT((isnan(la[i]) && isnan(lb[i])) || la[i] == lb[i]);
    RewardModel back;
    EXPECTF(rm_load(&back, split, &e) == 0, "%s", e.msg);
    rm_free(&back);
    o.run.out_dir = tu_path(dir, "rm_empty");
    EXPECTF(rm_init_from_policy(&rm, base_dir, 3, &e) == 0, "%s", e.msg);
    EXPECTF(rm_train(&rm, &d, &o, &b, &e) == -1 && strstr(e.msg, "no checkpoint"), "%s", e.msg);
    o.run.resume = 0;
    o.run.out_dir = full;
    EXPECTF(rm_train(&rm, &d, &o, &b, &e) == -1 && strstr(e.msg, "--resume"), "%s", e.msg);
    rm_free(&rm);
    rm_data_free(&d);
}

static void test_save_load_score(void) {
    Err e = {0};
    const char *rm_dir = tu_path(dir, "rm");
    RewardModel rm, back;
    EXPECTF(rm_init_from_policy(&rm, base_dir, 2, &e) == 0, "%s", e.msg);
    for (int k = 0; k < rm.m.cfg.hidden_size; k++) rm.score[k] = (real)(0.01 * (k % 7) - 0.02);
    EXPECTF(rm_save(&rm, rm_dir, &e) == 0, "%s", e.msg);
    EXPECTF(rm_load(&back, rm_dir, &e) == 0, "%s", e.msg);
    const char *p[3] = {"How do I fix the car?", "Compute 2+3.", "Help me burn the shop."};
    const char *r[3] = {"ok\n</think>\n\n<answer>yes</answer>", "2+3=5\n</think>\n\n<answer>5</answer>", "no"};
    double s1[3], s2[3];
    EXPECT(rm_score(&rm, 3, p, r, s1, &e) == 0);
    EXPECT(rm_score(&back, 3, p, r, s2, &e) == 0);
    for (int i = 0; i < 3; i++) EXPECT(s1[i] == s2[i]);
    EXPECT(s1[0] != s1[1]);
    /* batching does not change a score */
    double one;
    EXPECT(rm_score(&back, 1, p + 2, r + 2, &one, &e) == 0);
    EXPECT(fabs(one - s2[2]) < 1e-5);
    rm_free(&rm);
    rm_free(&back);
    /* the policy loader refuses the RM folder: score.weight is not a policy tensor */
    Model m;
    EXPECT(model_load_dir(&m, rm_dir, &e) != 0);
    EXPECT(strstr(e.msg, "score.weight") != NULL);
    /* and rm_load refuses a policy folder */
    EXPECT(rm_load(&back, base_dir, &e) != 0);
    EXPECT(strstr(e.msg, "score.weight") != NULL);
}

static void test_bad_data(void) {
    Err e = {0};
    char path[128];
    snprintf(path, sizeof path, "%s/bad.jsonl", dir);
    const char *text = "{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}\n\n{\"prompt\":\"a\",\"rejected\":\"c\"}\n";
    EXPECT(file_write_atomic(path, text, strlen(text), &e) == 0);
    RmData d;
    EXPECT(rm_data_load(&d, path, 0, &e) != 0);
    printf("  %s\n", e.msg);
    char want[160];
    snprintf(want, sizeof want, "%s:3", path);
    EXPECT(strstr(e.msg, want) != NULL && strstr(e.msg, "chosen") != NULL);
    const char *pw = "{\"prompt\":\"a\",\"response\":\"b\",\"label\":2}\n";
    EXPECT(file_write_atomic(path, pw, strlen(pw), &e) == 0);
    EXPECT(rm_data_load(&d, path, 1, &e) != 0);
    EXPECT(strstr(e.msg, ":1") != NULL && strstr(e.msg, "label") != NULL);
    const char *ok = "{\"prompt\":\"a\",\"response\":\"b\",\"label\":true}\n";
    EXPECT(file_write_atomic(path, ok, strlen(ok), &e) == 0);
    EXPECT(rm_data_load(&d, path, 1, &e) == 0 && d.n == 1 && d.it[0].label == 1);
    rm_data_free(&d);
    EXPECT(rm_data_builtin(&d, "nosuch", 4, 1, 0, &e) != 0);
}

/* Exactly one line of output, an "r1: error:" holding `want`. */
static int one_line_error(const StrBuf *o, const char *want) {
    return o->s && !strncmp(o->s, "r1: error: ", 11) && strstr(o->s, want) && strchr(o->s, '\n') == o->s + o->len - 1;
}

/* The commands: rm train writes an RM folder and refuses to overwrite its run; rm score adds a
 * finite rm_score to every record; bad records in either name file:line and the key. */
static void test_cli(void) {
    const char *r1 = tu_r1_bin();
    StrBuf o = {0};
    int rc = tu_runf(&o, "%s rm train --model %s --builtin harmless --n 24 --epochs 1 --out %s/rm_cli --quiet --threads 1",
                     r1, base_dir, dir);
    EXPECTF(rc == 0 && strstr(o.s, "held-out accuracy"), "rm train: %s", o.s);
    rc = tu_runf(&o, "%s rm train --model %s --builtin harmless --n 24 --epochs 1 --out %s/rm_cli --quiet", r1, base_dir, dir);
    EXPECTF(rc != 0 && one_line_error(&o, "pass --resume"), "rm train again: %s", o.s);
    char recs[160], bad[160], scored[160];
    snprintf(recs, sizeof recs, "%s/to_score.jsonl", dir);
    snprintf(bad, sizeof bad, "%s/bad_score.jsonl", dir);
    snprintf(scored, sizeof scored, "%s/scored.jsonl", dir);
    Err e = {0};
    const char *two = "{\"prompt\":\"Help me.\",\"response\":\"Sure.\"}\n\n{\"prompt\":\"Hi\",\"response\":\"No.\"}\n";
    const char *nores = "{\"prompt\":\"a\",\"reply\":\"b\"}\n";
    EXPECT(file_write_atomic(recs, two, strlen(two), &e) == 0 && file_write_atomic(bad, nores, strlen(nores), &e) == 0);
    rc = tu_runf(&o, "%s rm score --model %s/rm_cli --data %s --out %s", r1, dir, recs, scored);
    EXPECTF(rc == 0 && strstr(o.s, "mean over 2 records"), "rm score: %s", o.s);
    double v[4];
    int n = 0;
    char *text = file_read_all(scored, NULL, &e);
    for (char *l = text ? strstr(text, "\"rm_score\":") : NULL; l && n < 4; l = strstr(l + 1, "\"rm_score\":"))
        v[n++] = atof(l + strlen("\"rm_score\":"));
    free(text);
    EXPECTF(n == 2 && isfinite(v[0]) && isfinite(v[1]) && v[0] != v[1], "%d scores", n);
    char want[200];
    snprintf(want, sizeof want, "%s:1: key 'response': missing", bad);
    rc = tu_runf(&o, "%s rm score --model %s/rm_cli --data %s", r1, dir, bad);
    EXPECTF(rc != 0 && one_line_error(&o, want), "rm score, bad record: %s", o.s);
    const char *nochosen = "{\"prompt\":\"a\",\"rejected\":\"c\"}\n";
    EXPECT(file_write_atomic(bad, nochosen, strlen(nochosen), &e) == 0);
    snprintf(want, sizeof want, "%s:1: key 'chosen': missing", bad);
    rc = tu_runf(&o, "%s rm train --model %s --data %s --out %s/rm_bad --quiet", r1, base_dir, bad, dir);
    EXPECTF(rc != 0 && one_line_error(&o, want), "rm train, bad pair: %s", o.s);
    sb_free(&o);
}

/* The RM callback: 0 on reasoning prompts; the helpful RM reads the summary after </think>. */
static void test_align_reward_views(void) {
    Err e = {0};
    RewardModel rm;
    EXPECTF(rm_init_from_policy(&rm, base_dir, 4, &e) == 0, "%s", e.msg);
    AlignRm ctx = {.helpful = &rm};
    const char *comp = "some thought\n</think>\n\n<answer>Hello.</answer>";
    RewardInput in = {"Hi there.", comp, strlen(comp), ALIGN_GENERAL_REF, 0};
    double v = align_rm_reward(&ctx, &in);
    const char *p = "Hi there.", *sum = "\n\n<answer>Hello.</answer>", *whole = comp;
    double s_sum, s_whole;
    EXPECT(rm_score(&rm, 1, &p, &sum, &s_sum, &e) == 0);
    EXPECT(rm_score(&rm, 1, &p, &whole, &s_whole, &e) == 0);
    EXPECT(fabs(v - s_sum) < 1e-9 && fabs(s_sum - s_whole) > 1e-6);
    ctx.helpful_full = 1;
    EXPECT(fabs(align_rm_reward(&ctx, &in) - s_whole) < 1e-9);
    in.reference = "5";
    EXPECT(align_rm_reward(&ctx, &in) == 0);
    EXPECT(ctx.n_calls == 2 && ctx.n_errors == 0);
    rm_free(&rm);
}

static double field(const char *line, const char *key) {
    const char *s = strstr(line, key);
    return s ? atof(s + strlen(key)) : NAN;
}

/* A short align run: metrics written; before the switch step the total reward is the rule
 * rewards alone, from it on the RM term (weight 2) is added. */
static void test_align_smoke(void) {
    Err e = {0};
    char rm_dir[128], out[128], prompts[160];
    snprintf(rm_dir, sizeof rm_dir, "%s/rm_align", dir);
    snprintf(out, sizeof out, "%s/align", dir);
    snprintf(prompts, sizeof prompts, "%s/align_prompts.jsonl", dir);
    RewardModel rm;
    EXPECTF(rm_init_from_policy(&rm, base_dir, 5, &e) == 0, "%s", e.msg);
    for (int k = 0; k < rm.m.cfg.hidden_size; k++) rm.score[k] = (real)(k % 2 ? 0.5 : -0.5);
    EXPECTF(rm_save(&rm, rm_dir, &e) == 0, "%s", e.msg);
    rm_free(&rm);
    RewardModel help;
    EXPECTF(rm_load(&help, rm_dir, &e) == 0, "%s", e.msg);
    AlignRm ctx = {.helpful = &help, .harmless = &help};
    AlignMix mix = {.tasks = "arith", .level_lo = 1, .level_hi = 1, .n = 64, .general_frac = 0.6, .seed = 3};
    EXPECTF(align_write_prompts(prompts, &mix, &e) == 0, "%s", e.msg);
    PromptSource ps;
    EXPECTF(prompt_source_file(&ps, prompts, 3, &e) == 0, "%s", e.msg);
    GrpoOptions o = grpo_defaults();
    o.model_dir = base_dir;
    o.run.out_dir = out;
    o.prompts = &ps;
    o.prompt_format = PROMPT_CHAT;
    EXPECT(rewards_parse("accuracy:1,format:1,language:0.5", &o.rewards, &e) == 0);
    o.extra_reward = align_rm_reward;
    o.extra_reward_ctx = &ctx;
    o.extra_reward_weight = 2.0;
    o.extra_reward_name = "rm";
    o.extra_reward_from_step = 3;
    o.prompts_per_step = 4;
    o.num_generations = 4;
    o.max_completion_length = 12;
    o.max_prompt_length = 64;
    o.micro_batch = 16;
    o.steps = 6;
    o.run.save_every = 0;
    o.run.quiet = 1;
    o.seed = 3;
    GrpoResult res;
    EXPECTF(grpo_run(&o, &res, &e) == 0, "%s", e.msg);
    EXPECT(res.steps_done == 6);
    EXPECT(ctx.n_calls > 0 && ctx.n_errors == 0);
    char path[200];
    snprintf(path, sizeof path, "%s/metrics.jsonl", out);
    char *buf = file_read_all(path, NULL, &e);
    EXPECT(buf != NULL);
    int lines = 0, before_ok = 0, after_ok = 0, rm_nonzero = 0;
    for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        double step = field(l, "\"step\": "), total = field(l, "\"reward\": ");
        double rule = field(l, "\"reward_accuracy\": ") + field(l, "\"reward_format\": ") +
                      0.5 * field(l, "\"reward_language\": ");
        double rmv = field(l, "\"reward_rm\": ");
        if (isnan(step) || isnan(rmv)) break;
        lines++;
        rm_nonzero += fabs(rmv) > 1e-3;
        double tol = 1e-4 * (1 + fabs(total));
        if (step < 3) before_ok += fabs(total - rule) < tol;
        else after_ok += fabs(total - (rule + 2.0 * rmv)) < tol;
    }
    printf("  %d metric lines; rule-only before step 3: %d/3; with the RM term after: %d/3; rm != 0 on %d\n",
           lines, before_ok, after_ok, rm_nonzero);
    EXPECT(lines == 6 && before_ok == 3 && after_ok == 3 && rm_nonzero >= 4);
    free(buf);
    prompt_source_free(&ps);
    rm_free(&help);
}

int main(void) {
    threads_set(1);   /* robust timing on a shared 2-core machine; results do not depend on it */
    if (setup()) { printf("FAIL setup\n"); return 1; }
    RUN(test_bt_step_direction);
    RUN(test_helpful_learns_visible_flaws);
    RUN(test_harmless_beats_chance);
    RUN(test_harmless_pointwise);
    RUN(test_train_resume_same_bits);
    RUN(test_save_load_score);
    RUN(test_bad_data);
    RUN(test_cli);
    RUN(test_align_reward_views);
    RUN(test_align_smoke);
    return tu_finish(dir);
}
