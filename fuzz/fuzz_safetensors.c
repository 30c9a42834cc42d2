/* Fuzz target: any bytes as a safetensors file either parse or fail with a one-line message naming
 * the problem (never crash, never read outside the buffer). What parses is read in full: every
 * tensor converted to f32 (F8 ones with their scale sibling) — errors must name the tensor — and
 * small float tensors read as f64 too, which must agree with the f32 read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* a private copy so the sanitizer catches any read past `size` */
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    Err e = {0};
    Safetensors st;
    if (st_open_mem(&st, buf, size, "fuzz.safetensors", &e) != 0) {
        if (!e.msg[0] || strchr(e.msg, '\n')) abort();
        st_free(&st);
        free(buf);
        return 0;
    }
    for (int i = 0; i < st.n; i++) {
        const StTensor *t = &st.t[i];
        if (t->data < buf + 8 || t->data + t->nbytes > buf + size) abort();
        if (i > 0 && strcmp(st.t[i - 1].name, t->name) >= 0) abort();   /* sorted, unique */
        if (st_find(&st, t->name) != t) abort();
        StDtype to = (t->dtype == ST_I32 || t->dtype == ST_I64) ? ST_I64 : ST_F32;
        void *out = malloc((size_t)t->numel * 8 + 8);
        Err re = {0};
        if (st_read(&st, t, out, to, &re) != 0) {
            /* the name as far as its first control byte (the message escapes those) */
            char head[256];
            size_t k = 0;
            while (t->name[k] && (unsigned char)t->name[k] >= 0x20 && t->name[k] != 0x7f && k < sizeof head - 1) k++;
            memcpy(head, t->name, k);
            head[k] = 0;
            if (!re.msg[0] || strchr(re.msg, '\n') || !strstr(re.msg, head)) abort();
        } else if (to == ST_F32 && t->numel <= 4096) {
            double *d = malloc((size_t)t->numel * 8 + 8);
            if (st_read(&st, t, d, ST_F64, &re) != 0) abort();
            const float *f = out;
            for (uint64_t k = 0; k < t->numel; k++) {
                float x = (float)d[k];
                if (memcmp(&x, &f[k], 4) != 0 && !(x != x && f[k] != f[k])) abort();
            }
            free(d);
        }
        free(out);
    }
    st_free(&st);
    free(buf);
    return 0;
}
