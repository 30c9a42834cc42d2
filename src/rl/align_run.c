/* `r1 align` as a run: the prompt pool, the reward models, GRPO (align.h). */
#include <stdio.h>
#include <string.h>

#include "io/file.h"
#include "rl/align.h"

static const char *const VIEWS[] = {"summary", "full", NULL};

#define A_(field) offsetof(AlignOptions, field)
static const OptSpec ALIGN_SPECS[] = {
    OPT("rm_helpful", OPT_STR, A_(rm_helpful), 0, "helpfulness RM folder (r1 rm train): scores the summary after </think>"),
    OPT("rm_harmless", OPT_STR, A_(rm_harmless), 0, "harmlessness RM folder: scores the whole response (optional)"),
    OPT("helpful_view", OPT_ENUM, A_(helpful_full), OPT_MATH, "what the helpful RM reads: summary (R1) or full",
        .choices = VIEWS),
    OPT("task", OPT_STR, A_(grpo.task), OPT_MATH, "reasoning task(s), comma-separated (rule rewards)"),
    OPT("level", OPT_STR, A_(grpo.level), OPT_MATH, "task difficulty 1..5 or a range like 1-3"),
    OPT("general_frac", OPT_DOUBLE, A_(general_frac), OPT_MATH,
        "share of general prompts (chat requests and safety requests) in the pool"),
    OPT("pool", OPT_INT, A_(pool), OPT_MATH, "prompts in the mixed pool (written to OUT/align_prompts.jsonl)"),
    OPT("rm_weight", OPT_DOUBLE, A_(rm_weight), OPT_MATH, "weight of the reward-model term"),
    OPT("rm_from_frac", OPT_DOUBLE, A_(rm_from_frac), OPT_MATH,
        "the RM term counts from step floor(frac*steps) on (R1: last part of the run)"),
};
static const OptTable ALIGN_TABLE = OPT_TABLE(ALIGN_SPECS);
const OptSet ALIGN_OPTIONS = {"align", {{&ALIGN_TABLE, 0}, {&GRPO_TABLE, A_(grpo)},
                                        {&OPTIM_OPT_TABLE, A_(grpo.optim)}, {&RUN_OPT_TABLE, A_(grpo.run)}}, 4};
#undef A_

AlignOptions align_defaults(void) {
    AlignOptions o = {.grpo = grpo_defaults(), .general_frac = 0.5, .pool = 2000, .rm_weight = 1.0, .rm_from_frac = 0.5};
    CHECK(rewards_parse("accuracy:1,format:1,language:0.2", &o.grpo.rewards, NULL) == 0);
    return o;
}

static int validate(const AlignOptions *o, AlignMix *mix, Err *e) {
    const OptSet *s = &ALIGN_OPTIONS;
    if (!o->grpo.model_dir) return opt_err(s, e, "model", "required");
    if (!o->rm_helpful) return opt_err(s, e, "rm_helpful", "required");
    if (!o->grpo.task) return opt_err(s, e, "task", "required");
    if (!o->grpo.run.out_dir) return opt_err(s, e, "out", "required");
    if (!(o->rm_from_frac >= 0 && o->rm_from_frac <= 1)) return opt_err(s, e, "rm_from_frac", "must be in [0, 1]");
    if (!(o->general_frac >= 0 && o->general_frac <= 1)) return opt_err(s, e, "general_frac", "must be in [0, 1]");
    if (o->pool < 1) return opt_err(s, e, "pool", "must be >= 1");
    int lo = 1, hi = 1;
    if (sscanf(o->grpo.level, "%d-%d", &lo, &hi) < 2) hi = lo;
    if (lo < 1 || hi > 5 || lo > hi)
        return opt_err(s, e, "level", "want 1..5 or a range like 1-3 (got '%s')", o->grpo.level);
    *mix = (AlignMix){.tasks = o->grpo.task, .level_lo = lo, .level_hi = hi, .n = o->pool,
                      .general_frac = o->general_frac, .seed = o->grpo.seed};
    return 0;
}

int align_run(const AlignOptions *o, AlignResult *res, Err *e) {
    memset(res, 0, sizeof *res);
    AlignMix mix;
    Dist *d = o->grpo.run.dist;
    if (dist_agree(d, validate(o, &mix, e), e) != 0) return -1;
    RewardModel help, harm;
    int rc = rm_load(&help, o->rm_helpful, e);
    if (dist_agree(d, rc, e) != 0) {
        if (rc == 0) rm_free(&help);
        return -1;
    }
    if (o->rm_harmless) {
        rc = rm_load(&harm, o->rm_harmless, e);
        if (dist_agree(d, rc, e) != 0) {
            if (rc == 0) rm_free(&harm);
            rm_free(&help);
            return -1;
        }
    }
    AlignRm ctx = {.helpful = &help, .harmless = o->rm_harmless ? &harm : NULL, .helpful_full = o->helpful_full};
    GrpoOptions g = o->grpo;
    char prompts_path[4096];
    snprintf(prompts_path, sizeof prompts_path, "%s/align_prompts.jsonl", g.run.out_dir);
    PromptSource ps;
    memset(&ps, 0, sizeof ps);
    /* every rank makes the pool (a function of the options); rank 0 keeps it in the run folder */
    StrBuf pool = {0};
    rc = align_prompts(&mix, &pool, e);
    if (rc == 0 && dist_rank(d) == 0) {
        rc = file_mkdirs(g.run.out_dir, e);
        if (rc == 0) rc = file_write_atomic(prompts_path, pool.s ? pool.s : "", pool.len, e);
    }
    if (rc == 0) rc = prompt_source_text(&ps, pool.s ? pool.s : "", pool.len, prompts_path, g.seed, e);
    sb_free(&pool);
    rc = dist_agree(d, rc, e);
    if (rc == 0) {
        g.prompts = &ps;
        g.prompt_format = PROMPT_CHAT;
        g.eval_every = 0;
        g.extra_reward = align_rm_reward;
        g.extra_reward_ctx = &ctx;
        g.extra_reward_weight = o->rm_weight;
        g.extra_reward_name = "rm";
        g.extra_reward_from_step = res->rm_from_step = (int64_t)(o->rm_from_frac * (double)g.steps);
        g.command = "align";
        g.command_options = &ALIGN_OPTIONS;
        g.command_opts = o;
        rc = grpo_run(&g, &res->grpo, e);
        int64_t calls = ctx.n_calls;   /* each rank scored its own completions */
        if (rc == 0) dist_sum_i64(d, &calls, 1);
        res->n_calls = (int)calls;
    }
    prompt_source_free(&ps);
    rm_free(&help);
    if (o->rm_harmless) rm_free(&harm);
    return rc;
}
