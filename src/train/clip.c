#include "train/clip.h"

#include <math.h>

double grad_global_norm(const ParamChunks *pc, const real *grads, double grad_scale,
                        double *partial) {
    const ParamChunk *ch = pc->c;
    const int nc = pc->n;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < nc; k++) {
        const real *g = grads + ch[k].offset;
        const size_t n = ch[k].n;
        /* 8 independent lanes (vectorisable, and a fixed order: the same bits on any machine
         * run of this binary), folded in a fixed order */
        double acc[8] = {0};
        size_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (int l = 0; l < 8; l++) acc[l] += (double)g[i + l] * (double)g[i + l];
        for (; i < n; i++) acc[i % 8] += (double)g[i] * (double)g[i];
        partial[k] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
    double total = 0;
    for (int k = 0; k < nc; k++) total += partial[k];
    return sqrt(total) * fabs(grad_scale);
}

double clip_factor(double norm, double max_norm) {
    if (max_norm <= 0 || !(norm > max_norm)) return 1.0;
    return max_norm / (norm + 1e-6);
}
