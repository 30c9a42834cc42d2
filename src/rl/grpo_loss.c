#include "rl/grpo_loss.h"

#include <math.h>
#include <string.h>

#include "io/options.h"

const char *const GRPO_LOSS_TYPE_NAMES[] = {"grpo", "bnpo", "dr_grpo", "dapo", NULL};
const char *const REWARD_SCALING_NAMES[] = {"group", "batch", "none", NULL};

int grpo_loss_type_parse(const char *s, GrpoLossType *out, Err *e) {
    int k;
    if (opt_choice(GRPO_LOSS_TYPE_NAMES, "loss type", s, &k, e) != 0) return -1;
    *out = (GrpoLossType)k;
    return 0;
}

int reward_scaling_parse(const char *s, RewardScaling *out, Err *e) {
    int k;
    if (opt_choice(REWARD_SCALING_NAMES, "reward scaling", s, &k, e) != 0) return -1;
    *out = (RewardScaling)k;
    return 0;
}

/* Unbiased standard deviation, as torch.std. */
static double stdev(const double *x, int n, double mean) {
    if (n < 2) return 0;
    double s = 0;
    for (int i = 0; i < n; i++) s += (x[i] - mean) * (x[i] - mean);
    return sqrt(s / (n - 1));
}

int grpo_advantages(double *adv, const double *rewards, int n_groups, int G, RewardScaling scaling,
                    double eps) {
    int n = n_groups * G, zero_groups = 0;
    double batch_std = 0;
    if (scaling == SCALE_BATCH) {
        double m = 0;
        for (int i = 0; i < n; i++) m += rewards[i];
        batch_std = stdev(rewards, n, m / n);
    }
    for (int g = 0; g < n_groups; g++) {
        const double *r = rewards + (size_t)g * G;
        double mean = 0;
        int all_equal = 1;
        for (int i = 0; i < G; i++) { mean += r[i]; all_equal &= r[i] == r[0]; }
        mean /= G;
        zero_groups += all_equal;
        double div = scaling == SCALE_GROUP ? stdev(r, G, mean) + eps
                   : scaling == SCALE_BATCH ? batch_std + eps : 1.0;
        for (int i = 0; i < G; i++) adv[(size_t)g * G + i] = all_equal ? 0.0 : (r[i] - mean) / div;
    }
    return zero_groups;
}

double grpo_loss(const GrpoLossConfig *cfg, int n_seq, const int *start, const float *logp,
                 const float *old_logp, const float *ref_logp, const float *mask, const double *adv,
                 double *dlogp, GrpoLossStats *stats) {
    GrpoLossStats st = {0};
    long local_tokens = 0;
    for (int i = 0; i < n_seq; i++)
        for (int t = start[i]; t < start[i + 1]; t++) local_tokens += mask[t] != 0;
    double loss = 0;
    for (int i = 0; i < n_seq; i++) {
        long len = 0;
        for (int t = start[i]; t < start[i + 1]; t++) len += mask[t] != 0;
        /* the weight each token's ℓ gets in the aggregate */
        double w;
        switch (cfg->type) {
        case GRPO_LOSS_GRPO: w = len ? 1.0 / ((double)cfg->n_seq_total * (double)len) : 0; break;
        case GRPO_LOSS_BNPO: w = local_tokens ? 1.0 / (double)local_tokens : 0; break;
        case GRPO_LOSS_DAPO: w = cfg->n_tokens_total ? 1.0 / (double)cfg->n_tokens_total : 0; break;
        case GRPO_LOSS_DR_GRPO: w = 1.0 / ((double)cfg->n_seq_total * (double)cfg->max_completion_len); break;
        default: w = 0;
        }
        const double A = adv[i];
        for (int t = start[i]; t < start[i + 1]; t++) {
            if (mask[t] == 0) { dlogp[t] = 0; continue; }
            double rho = exp((double)logp[t] - (double)old_logp[t]);
            double clipped = fmin(fmax(rho, 1.0 - cfg->epsilon_low), 1.0 + cfg->epsilon_high);
            double unclipped_term = rho * A, clipped_term = clipped * A;
            /* −min(ρA, clip(ρ)A): the gradient flows only through the unclipped branch, and
             * only when that branch is the minimum or the clip is inactive. */
            double surrogate = fmin(unclipped_term, clipped_term);
            int clip_active = clipped_term < unclipped_term;
            double g = clip_active ? 0.0 : -A * rho;
            if (clip_active) { if (rho < 1.0) st.clip_low++; else st.clip_high++; }
            double l = -surrogate;
            if (cfg->beta != 0 && ref_logp) {
                double diff = (double)ref_logp[t] - (double)logp[t];
                double k3 = exp(diff) - diff - 1.0;
                l += cfg->beta * k3;
                g += cfg->beta * (1.0 - exp(diff));
                st.kl_sum += k3;
            }
            loss += w * l;
            dlogp[t] = w * g;
            st.tokens++;
        }
    }
    st.loss = loss;
    if (stats) *stats = st;
    return loss;
}
