#include "train/adamw.h"

#include <math.h>
#include <string.h>

#include "base/bigmem.h"
#include "base/error.h"

void param_chunks_build(ParamChunks *pc, const ParamTable *pt, int decay_norms, int decay_embed) {
    int cap = 64, n = 0;
    ParamChunk *c = xmalloc((size_t)cap * sizeof *c);
    size_t numel = 0;
    for (int i = 0; i < pt->n; i++) {
        const ParamInfo *p = &pt->t[i];
        if (!param_is_trainable(p)) continue;
        int decay = p->kind == PARAM_LINEAR || (p->kind == PARAM_NORM && decay_norms) ||
                    (p->kind == PARAM_EMBED && decay_embed);
        for (size_t off = 0; off < p->numel; off += PARAM_CHUNK_ELEMS) {
            if (n == cap) { cap *= 2; c = xrealloc(c, (size_t)cap * sizeof *c); }
            size_t len = p->numel - off < PARAM_CHUNK_ELEMS ? p->numel - off : PARAM_CHUNK_ELEMS;
            c[n++] = (ParamChunk){.offset = p->offset + off, .n = len, .tensor = i, .decay = decay};
        }
        numel += p->numel;
    }
    pc->c = c;
    pc->n = n;
    pc->numel = numel;
}

void param_chunks_free(ParamChunks *pc) {
    free(pc->c);
    memset(pc, 0, sizeof *pc);
}

AdamWConfig adamw_defaults(void) {
    return (AdamWConfig){.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1};
}

void adamw_init_shard(AdamW *o, const ParamTable *pt, const AdamWConfig *cfg, int c_lo, int c_hi) {
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->pt = pt;
    param_chunks_build(&o->chunks, pt, cfg->decay_norms, cfg->decay_embed);
    if (c_hi < 0) c_hi = o->chunks.n;
    CHECK(0 <= c_lo && c_lo <= c_hi && c_hi <= o->chunks.n);
    o->c_lo = c_lo;
    o->c_hi = c_hi;
    if (c_lo == 0 && c_hi == o->chunks.n) {
        o->mom_n = pt->total;
    } else if (c_hi > c_lo) {
        o->mom_first = o->chunks.c[c_lo].offset;
        o->mom_n = o->chunks.c[c_hi - 1].offset + o->chunks.c[c_hi - 1].n - o->mom_first;
    }
    o->m = big_calloc((o->mom_n ? o->mom_n : 1) * sizeof(float), "AdamW first moments");
    o->v = big_calloc((o->mom_n ? o->mom_n : 1) * sizeof(float), "AdamW second moments");
}

void adamw_init(AdamW *o, const ParamTable *pt, const AdamWConfig *cfg) { adamw_init_shard(o, pt, cfg, 0, -1); }

void adamw_free(AdamW *o) {
    param_chunks_free(&o->chunks);
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

static void step(AdamW *o, real *params, real *grads, double lr, double grad_scale, int zero) {
    o->t++;
    const double b1 = o->cfg.beta1, b2 = o->cfg.beta2;
    const double bc1 = 1.0 - pow(b1, (double)o->t);
    const double bc2 = 1.0 - pow(b2, (double)o->t);
    /* constants in float, computed once in double */
    const float fb1 = (float)b1, fb2 = (float)b2;
    const float f1b1 = (float)(1.0 - b1), f1b2 = (float)(1.0 - b2);
    const float step_size = (float)(lr / bc1);
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float eps = (float)o->cfg.eps;
    const float gs = (float)grad_scale;
    const float decay_mul = (float)(1.0 - lr * o->cfg.weight_decay);
    const ParamChunk *ch = o->chunks.c;
    float *restrict M = o->m, *restrict Vv = o->v;
    const int c_lo = o->c_lo, c_hi = o->c_hi;
    const size_t first = o->mom_first;
#pragma omp parallel for schedule(static)
    for (int k = c_lo; k < c_hi; k++) {
        const size_t off = ch[k].offset, n = ch[k].n;
        real *restrict p = params + off;
        real *restrict g = grads + off;
        float *restrict m = M + (off - first), *restrict v = Vv + (off - first);
        const float dm = ch[k].decay ? decay_mul : 1.0f;
        for (size_t i = 0; i < n; i++) {
            float gi = (float)g[i] * gs;
            float mi = fb1 * m[i] + f1b1 * gi;
            float vi = fb2 * v[i] + f1b2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            float denom = sqrtf(vi) * inv_sqrt_bc2 + eps;
            p[i] = (real)((float)p[i] * dm - step_size * mi / denom);
        }
        if (zero) memset(g, 0, n * sizeof *g);
    }
}

void adamw_step(AdamW *o, real *params, const real *grads, double lr, double grad_scale) {
    step(o, params, (real *)grads, lr, grad_scale, 0);   /* not written when zero == 0 */
}

void adamw_step_and_zero(AdamW *o, real *params, real *grads, double lr, double grad_scale) {
    step(o, params, grads, lr, grad_scale, 1);
}
