#include "train/clip.h"

#include <math.h>

double grad_global_norm(const ParamChunks *pc, const real *grads, double grad_scale,
                        double *partial) {
    const ParamChunk *ch = pc->c;
    const int nc = pc->n;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < nc; k++) {
        const real *g = grads + ch[k].offset;
        double s = 0;
        for (size_t i = 0; i < ch[k].n; i++) s += (double)g[i] * (double)g[i];
        partial[k] = s;
    }
    double total = 0;
    for (int k = 0; k < nc; k++) total += partial[k];
    return sqrt(total) * fabs(grad_scale);
}

double clip_factor(double norm, double max_norm) {
    if (max_norm <= 0 || !(norm > max_norm)) return 1.0;
    return max_norm / (norm + 1e-6);
}
