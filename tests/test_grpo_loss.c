/* GRPO loss variants: values and dL/dlogp against the PyTorch reference (tools/ref_grpo.py,
 * autograd), plus the properties the math promises: advantages sum to zero per group, k3 is 0
 * with zero gradient at ratio 1, and the clip removes the gradient exactly where it should. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/json.h"
#include "rl/grpo_loss.h"
#include "test.h"
#include "test_util.h"

static double *num_array(const cJSON *c, const char *key, int *n) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(c, key);
    *n = cJSON_GetArraySize(a);
    double *v = malloc(sizeof(double) * (size_t)(*n ? *n : 1));
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a) v[i++] = x->valuedouble;
    return v;
}

static void check_cases(const char *path) {
    Err e = {0};
    cJSON *root = json_load_file(path, &e);
    EXPECTF(root != NULL, "%s", e.msg);
    if (!root) return;
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    EXPECT(cJSON_GetArraySize(cases) == 12);
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        int n, ns, nr, na;
        double *logp_d = num_array(c, "logp", &n), *old_d = num_array(c, "old_logp", &n);
        double *ref_d = num_array(c, "ref_logp", &n), *mask_d = num_array(c, "mask", &n);
        double *want_d = num_array(c, "dlogp", &n), *start_d = num_array(c, "start", &ns);
        double *rewards = num_array(c, "rewards", &nr), *want_adv = num_array(c, "adv", &na);
        float *logp = malloc(sizeof(float) * n), *old = malloc(sizeof(float) * n);
        float *ref = malloc(sizeof(float) * n), *mask = malloc(sizeof(float) * n);
        int *start = malloc(sizeof(int) * ns);
        for (int i = 0; i < n; i++) {
            logp[i] = (float)logp_d[i]; old[i] = (float)old_d[i];
            ref[i] = (float)ref_d[i]; mask[i] = (float)mask_d[i];
        }
        for (int i = 0; i < ns; i++) start[i] = (int)start_d[i];
        const char *type_s = cJSON_GetObjectItem(c, "loss_type")->valuestring;
        const char *scale_s = cJSON_GetObjectItem(c, "scaling")->valuestring;
        GrpoLossConfig cfg = {0};
        RewardScaling scaling;
        EXPECT(grpo_loss_type_parse(type_s, &cfg.type, &e) == 0);
        EXPECT(reward_scaling_parse(scale_s, &scaling, &e) == 0);
        int G = cJSON_GetObjectItem(c, "G")->valueint, n_groups = cJSON_GetObjectItem(c, "n_groups")->valueint;
        double adv[64];
        int zero = grpo_advantages(adv, rewards, n_groups, G, scaling, 1e-4);
        EXPECT(zero >= 1);   /* the generator plants one all-equal group */
        for (int i = 0; i < na; i++) EXPECT_NEAR(adv[i], want_adv[i], 1e-12, 1e-9);
        cfg.epsilon_low = cJSON_GetObjectItem(c, "eps_low")->valuedouble;
        cfg.epsilon_high = cJSON_GetObjectItem(c, "eps_high")->valuedouble;
        cfg.beta = cJSON_GetObjectItem(c, "beta")->valuedouble;
        cfg.n_seq_total = cJSON_GetObjectItem(c, "n_seq_total")->valueint;
        cfg.n_tokens_total = cJSON_GetObjectItem(c, "n_tokens_total")->valueint;
        cfg.max_completion_len = cJSON_GetObjectItem(c, "max_len")->valueint;
        double *dlogp = malloc(sizeof(double) * n);
        GrpoLossStats st;
        double loss = grpo_loss(&cfg, ns - 1, start, logp, old, ref, mask, want_adv, dlogp, &st);
        double want_loss = cJSON_GetObjectItem(c, "loss")->valuedouble;
        EXPECTF(fabs(loss - want_loss) <= 1e-9 * (1 + fabs(want_loss)), "%s/%s: loss %.12g vs %.12g",
                type_s, scale_s, loss, want_loss);
        int bad = 0;
        for (int i = 0; i < n; i++) bad += !(fabs(dlogp[i] - want_d[i]) <= 1e-9 * (1e-3 + fabs(want_d[i])));
        EXPECTF(bad == 0, "%s/%s: %d of %d gradients differ", type_s, scale_s, bad, n);
        EXPECT(st.clip_low + st.clip_high > 0);   /* the ratios straddle the clip range */
        free(logp_d); free(old_d); free(ref_d); free(mask_d); free(want_d); free(start_d);
        free(rewards); free(want_adv); free(logp); free(old); free(ref); free(mask); free(start); free(dlogp);
    }
    cJSON_Delete(root);
}

static void test_matches_torch_fixture(void) { check_cases("tests/fixtures/grpo/cases.json"); }

static void test_matches_torch_live(void) {
    SKIP_IF(tu_no_torch());
    char out[] = "/tmp/r1_grpo_live_XXXXXX";
    int fd = mkstemp(out);
    EXPECT(fd >= 0);
    if (fd < 0) return;
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tools/ref_grpo.py --out %s >/dev/null", out);
    EXPECT(system(cmd) == 0);
    check_cases(out);
    unlink(out);
}

static void test_advantages_sum_to_zero(void) {
    double r[12] = {1, 0, 0, 1, 0.5, 0.5, 0.5, 0.5, 3, -1, 2, 0};
    double a[12];
    for (int s = 0; s < 3; s++) {
        int zero = grpo_advantages(a, r, 3, 4, (RewardScaling)s, 1e-4);
        EXPECT(zero == 1);
        for (int g = 0; g < 3; g++) EXPECT_NEAR(a[4 * g] + a[4 * g + 1] + a[4 * g + 2] + a[4 * g + 3], 0, 1e-12, 0);
        EXPECT(a[4] == 0 && a[7] == 0);
    }
    /* Dr. GRPO's example: [1,1,1,0] gives ±0.58/−1.74 with group scaling, 0.25/−0.75 without */
    double r2[4] = {1, 1, 1, 0};
    grpo_advantages(a, r2, 1, 4, SCALE_GROUP, 0);
    EXPECT_NEAR(a[0], 0.5, 1e-12, 0);   /* (1 − 0.75)/0.5: unbiased std of [1,1,1,0] is 0.5 */
    EXPECT_NEAR(a[3], -1.5, 1e-12, 0);
    grpo_advantages(a, r2, 1, 4, SCALE_NONE, 0);
    EXPECT_NEAR(a[0], 0.25, 1e-12, 0);
}

static void test_k3_at_ratio_one(void) {
    GrpoLossConfig cfg = {.type = GRPO_LOSS_BNPO, .epsilon_low = 0.2, .epsilon_high = 0.2, .beta = 1.0, .n_seq_total = 1};
    int start[2] = {0, 3};
    float logp[3] = {-1, -2, -0.5f}, mask[3] = {1, 1, 1};
    double adv[1] = {0}, d[3];
    GrpoLossStats st;
    double loss = grpo_loss(&cfg, 1, start, logp, logp, logp, mask, adv, d, &st);
    EXPECT(loss == 0 && st.kl_sum == 0);
    EXPECT(d[0] == 0 && d[1] == 0 && d[2] == 0);
    /* away from 1: k3 > 0 and its gradient is β(1 − π_ref/π) per token (÷3 tokens for bnpo) */
    float ref[3] = {-1.5f, -1.0f, -0.5f};
    loss = grpo_loss(&cfg, 1, start, logp, logp, ref, mask, adv, d, &st);
    EXPECT(loss > 0);
    EXPECT_NEAR(d[0], (1 - exp(-0.5)) / 3, 1e-12, 0);
    EXPECT_NEAR(d[1], (1 - exp(1.0)) / 3, 1e-12, 0);
    EXPECT(d[2] == 0);
}

static void test_clip_zeroes_gradient_where_it_should(void) {
    GrpoLossConfig cfg = {.type = GRPO_LOSS_BNPO, .epsilon_low = 0.2, .epsilon_high = 0.28, .n_seq_total = 4};
    /* four sequences of one token: ratio 1.5 or 0.6, advantage +1 or −1 */
    int start[5] = {0, 1, 2, 3, 4};
    float old[4] = {0, 0, 0, 0}, mask[4] = {1, 1, 1, 1};
    float logp[4] = {(float)log(1.5), (float)log(1.5), (float)log(0.6), (float)log(0.6)};
    double adv[4] = {+1, -1, +1, -1}, d[4];
    GrpoLossStats st;
    grpo_loss(&cfg, 4, start, logp, old, NULL, mask, adv, d, &st);
    EXPECT(d[0] == 0);                       /* ρ > 1+ε_high, A > 0: clipped, no gradient */
    EXPECT_NEAR(d[1], 1.5 / 4, 1e-6, 0);     /* ρ > 1+ε_high, A < 0: unclipped branch is the min */
    EXPECT_NEAR(d[2], -0.6 / 4, 1e-6, 0);    /* ρ < 1−ε, A > 0: unclipped branch is the min */
    EXPECT(d[3] == 0);                       /* ρ < 1−ε, A < 0: clipped */
    EXPECT(st.clip_high == 1 && st.clip_low == 1);
    /* inside the range every token gets −A·ρ */
    float inside[4] = {(float)log(1.1), (float)log(0.9), 0, (float)log(1.27)};
    grpo_loss(&cfg, 4, start, inside, old, NULL, mask, adv, d, &st);
    for (int i = 0; i < 4; i++) EXPECT_NEAR(d[i], -adv[i] * exp((double)inside[i]) / 4, 1e-9, 0);
    EXPECT(st.clip_high == 0 && st.clip_low == 0);
}

static void test_parse_errors(void) {
    Err e = {0};
    GrpoLossType t;
    RewardScaling s;
    EXPECT(grpo_loss_type_parse("ppo", &t, &e) == -1 && strstr(e.msg, "loss type: unknown value 'ppo'") != NULL);
    EXPECT(reward_scaling_parse("std", &s, &e) == -1 && strstr(e.msg, "reward scaling: unknown value 'std'") != NULL);
}

int main(void) {
    RUN(test_matches_torch_fixture);
    RUN(test_matches_torch_live);
    RUN(test_advantages_sum_to_zero);
    RUN(test_k3_at_ratio_one);
    RUN(test_clip_zeroes_gradient_where_it_should);
    RUN(test_parse_errors);
    return TEST_EXIT();
}
