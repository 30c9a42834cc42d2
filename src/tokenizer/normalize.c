/* Unicode normalization through utf8proc (see normalize.h). */
#include "tokenizer/normalize.h"

#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

#include "base/strbuf.h"

struct NormScratch {
    StrBuf buf[2];             /* ping-pong outputs of the steps */
    utf8proc_int32_t *cp;      /* code points of one valid run; re-encoded in place */
    size_t cp_cap;
};

int normalizer_add(Normalizer *nz, const char *type, const char *where, Err *e) {
    static const char *const names[] = {"NFC", "NFD", "NFKC", "NFKD"};
    for (int k = 0; k < 4; k++)
        if (!strcmp(type, names[k])) {
            if (nz->n >= NORM_MAX_STEPS) return err_set(e, "%s: more than %d normalizers", where, NORM_MAX_STEPS);
            nz->steps[nz->n++] = (NormForm)k;
            return 0;
        }
    return err_set(e, "%s.type: '%s' is not supported (NFC, NFD, NFKC, NFKD, Sequence are)", where, type);
}

NormScratch *norm_scratch_new(void) { return xcalloc(1, sizeof(NormScratch)); }

void norm_scratch_free(NormScratch *s) {
    if (!s) return;
    sb_free(&s->buf[0]);
    sb_free(&s->buf[1]);
    free(s->cp);
    free(s);
}

static utf8proc_option_t options(NormForm f) {
    utf8proc_option_t o = UTF8PROC_STABLE;
    if (f == NORM_NFC || f == NORM_NFKC) o |= UTF8PROC_COMPOSE;
    else o |= UTF8PROC_DECOMPOSE;
    if (f == NORM_NFKC || f == NORM_NFKD) o |= UTF8PROC_COMPAT;
    return o;
}

/* Appends the normalization of one run of valid UTF-8 to out. */
static int run_form(NormScratch *s, utf8proc_option_t o, const char *p, size_t n, StrBuf *out, Err *e) {
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)p;
    utf8proc_ssize_t k;
    for (;;) {   /* decompose; grow the buffer and again when it was too small */
        k = utf8proc_decompose_custom(u, (utf8proc_ssize_t)n, s->cp, (utf8proc_ssize_t)s->cp_cap, o, NULL, NULL);
        if (k < 0) return err_set(e, "Unicode normalization: %s", utf8proc_errmsg(k));
        if ((size_t)k <= s->cp_cap) break;
        s->cp_cap = (size_t)k + (size_t)k / 2 + 16;
        /* one more code point: re-encoding writes a terminating NUL after the bytes */
        s->cp = xrealloc(s->cp, (s->cp_cap + 1) * sizeof *s->cp);
    }
    k = utf8proc_reencode(s->cp, k, o);   /* composes (NFC/NFKC), then writes UTF-8 over s->cp */
    if (k < 0) return err_set(e, "Unicode normalization: %s", utf8proc_errmsg(k));
    sb_append_n(out, (const char *)s->cp, (size_t)k);
    return 0;
}

/* One form over any bytes: valid runs normalized, invalid bytes copied. */
static int step(NormScratch *s, NormForm f, const char *p, size_t n, StrBuf *out, Err *e) {
    utf8proc_option_t o = options(f);
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)p;
    size_t i = 0, run = 0;
    sb_clear(out);
    while (i < n) {
        if (u[i] < 0x80) { i++; continue; }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(u + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k > 0) { i += (size_t)k; continue; }
        if (i > run && run_form(s, o, p + run, i - run, out, e)) return -1;
        sb_append_n(out, p + i, 1);
        run = ++i;
    }
    if (n > run) return run_form(s, o, p + run, n - run, out, e);
    if (!out->s) sb_append_n(out, "", 0);
    return 0;
}

static int is_ascii(const char *p, size_t n) {
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;
    uint64_t acc = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, u + i, 8);
        acc |= w;
    }
    for (; i < n; i++) acc |= u[i];
    return (acc & 0x8080808080808080ULL) == 0;
}

const char *normalizer_run(const Normalizer *nz, NormScratch *s, const char *text, size_t n,
                           size_t *out_n, Err *e) {
    *out_n = n;
    if (nz->n == 0 || is_ascii(text, n)) return text;
    const char *cur = text;
    for (int k = 0; k < nz->n; k++) {
        StrBuf *out = &s->buf[k & 1];
        if (step(s, nz->steps[k], cur, *out_n, out, e)) return NULL;
        cur = out->s;
        *out_n = out->len;
    }
    return cur;
}
