/* SFT's held-out task accuracy (sft_eval.h). */
#include "rl/sft_eval.h"

#include <math.h>
#include <stdlib.h>

#include "base/strbuf.h"
#include "infer/generate.h"
#include "rl/verify.h"

static double verify_score(void *ctx, const char *c, size_t n, const char *ref, size_t ref_n) {
    (void)ctx;
    return verify_completion(c, n, ref, ref_n, VERIFY_DEFAULT) ? 1.0 : 0.0;
}

double sft_greedy_accuracy(void *ctx, const Model *m, Tokenizer *tok, const SftSet *val, int n, int max_new) {
    const SftScorer *sc = ctx;
    SftScoreFn score = sc && sc->score ? sc->score : verify_score;
    void *score_ctx = sc && sc->score ? sc->ctx : NULL;
    GenRequest *rq = xcalloc((size_t)n, sizeof(GenRequest));
    GenOutput *out = xcalloc((size_t)n, sizeof(GenOutput));
    for (int i = 0; i < n; i++) rq[i] = (GenRequest){val->ex[i].tok, val->ex[i].n_prompt, (uint64_t)i, 0};
    SamplerParams greedy = sampler_defaults();
    greedy.temperature = 0;
    GenOptions go = gen_options(greedy, 0, max_new, tok);
    double acc = NAN;
    Err e;
    if (generate(m, rq, n, &go, out, NULL, &e) == 0) {
        double sum = 0;
        StrBuf c = {0}, ref = {0};
        for (int i = 0; i < n; i++) {
            const SftExample *x = &val->ex[i];
            sb_clear(&c);
            sb_clear(&ref);
            int ok = tokenizer_decode(tok, (const uint32_t *)out[i].tokens, (size_t)out[i].n, 1, &c, &e) == 0 &&
                     tokenizer_decode(tok, (const uint32_t *)x->tok + x->n_prompt, (size_t)(x->n - x->n_prompt), 1,
                                      &ref, &e) == 0;
            if (ok) sum += score(score_ctx, c.s ? c.s : "", c.len, ref.s ? ref.s : "", ref.len);
        }
        sb_free(&c);
        sb_free(&ref);
        gen_outputs_free(out, n);
        acc = sum / n;
    }
    free(rq);
    free(out);
    return acc;
}
