/* Batched generation over a fixed list of requests: a loop over a generation session (session.h)
 * that admits waiting requests into free slots, in order, and steps until all are done. */
#include "infer/generate.h"

#include <stdlib.h>
#include <string.h>

#include "infer/session.h"

const char *gen_finish_name(GenFinish f) {
    switch (f) {
    case GEN_EOS: return "eos";
    case GEN_STOP_STRING: return "stop";
    case GEN_MAX_TOKENS: return "max_tokens";
    case GEN_LENGTH: return "length";
    case GEN_CANCELLED: return "cancelled";
    default: return "running";
    }
}

GenOptions gen_options(SamplerParams sp, uint64_t seed, int max_new_tokens, const Tokenizer *tok) {
    GenOptions o;
    memset(&o, 0, sizeof o);
    o.sampler = sp;
    o.seed = seed;
    o.max_new_tokens = max_new_tokens;
    o.n_slots = 64;
    o.prefill_chunk = 256;
    o.attn = ATTN_ABSORBED;
    o.stop_id = tok ? (int)tokenizer_eos_id(tok) : -1;
    o.vocab_limit = tok ? (int)tokenizer_vocab_size(tok) : 0;
    o.tok = tok;
    o.share_prompts = 1;
    return o;
}

void gen_outputs_free(GenOutput *out, int n) {
    for (int i = 0; i < n; i++) {
        free(out[i].tokens);
        free(out[i].logprobs);
        memset(&out[i], 0, sizeof out[i]);
    }
}

int generate(const Model *m, const GenRequest *reqs, int n, const GenOptions *o, GenOutput *outs,
             GenStats *stats, Err *e) {
    if (gen_options_check(m, o, e) < 0) return -1;
    if (n == 0) {
        if (stats) memset(stats, 0, sizeof *stats);
        return 0;
    }
    GenOptions so = *o;
    if (so.n_slots > n) so.n_slots = n;      /* no idle slots */
    GenSession *s = gen_session_new(m, &so, e);
    if (!s) return -1;
    const GenSeqParams p = gen_seq_params(o);
    for (int r = 0; r < n; r++)             /* every request is checked before any runs */
        if (gen_session_check(s, &reqs[r], &p, r, e) < 0) {
            gen_session_free(s);
            return -1;
        }
    int next = 0;
    for (;;) {
        while (next < n && gen_session_free_slots(s) > 0) {
            CHECK(gen_session_add(s, &reqs[next], &p, next, &outs[next], e) >= 0);
            next++;
        }
        if (gen_session_running(s) == 0) break;
        gen_session_step(s);
    }
    if (stats) *stats = gen_session_stats(s);
    gen_session_free(s);
    return 0;
}
