/* Synthetic mixed text (see textgen.h). */
#include "tokenizer/textgen.h"

#include <math.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"

#define LEX 20000

typedef struct Gen {
    Rng r;
    char words[LEX][16];
    double cdf[LEX];          /* Zipf(1) over word ranks */
    StrBuf *out;
} Gen;

void textgen_put_cp(StrBuf *b, uint32_t cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) { u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[2] = (char)(0x80 | (cp & 0x3F)); n = 3; }
    else { u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4; }
    sb_append_n(b, u, n);
}

static const char *word(Gen *g) {
    double u = rng_uniform(&g->r);
    size_t lo = 0, hi = LEX - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g->cdf[mid] < u) lo = mid + 1; else hi = mid;
    }
    return g->words[lo];
}

static void prose(Gen *g) {
    int n = 5 + (int)rng_below(&g->r, 30);
    for (int i = 0; i < n; i++) {
        const char *w = word(g);
        if (i == 0) { char c[16]; strcpy(c, w); c[0] = (char)(c[0] - 32); sb_append(g->out, c); }
        else { sb_append(g->out, " "); sb_append(g->out, w); }
        uint64_t k = rng_below(&g->r, 40);
        if (k == 0) sb_append(g->out, ",");
        else if (k == 1) sb_append(g->out, "'s");
        else if (k == 2) { sb_printf(g->out, " %u", (unsigned)rng_below(&g->r, 2030)); }
    }
    sb_append(g->out, rng_below(&g->r, 8) ? ". " : "? ");
    if (rng_below(&g->r, 3) == 0) sb_append(g->out, "\n");
}

static void code(Gen *g) {
    int indent = 4 * (int)rng_below(&g->r, 4);
    for (int i = 0; i < indent; i++) sb_append(g->out, " ");
    const char *a = word(g), *b = word(g), *c = word(g);
    switch (rng_below(&g->r, 6)) {
    case 0: sb_printf(g->out, "def %s_%s(self, %s=None):\n", a, b, c); break;
    case 1: sb_printf(g->out, "%s = %s.%s(%s, %u)\n", a, b, c, a, (unsigned)rng_below(&g->r, 1000)); break;
    case 2: sb_printf(g->out, "if (%s->%s >= %u && !%s) {\n", a, b, (unsigned)rng_below(&g->r, 100), c); break;
    case 3: sb_printf(g->out, "for (int i = 0; i < %s_len; i++) %s[i] += %s[i] * 2;\n", a, b, c); break;
    case 4: sb_printf(g->out, "return {\"%s\": %s, \"%s\": [%u, %u]}\n", a, b, c, (unsigned)rng_below(&g->r, 99), (unsigned)rng_below(&g->r, 99)); break;
    default: sb_printf(g->out, "// %s %s %s\n", a, b, c); break;
    }
}

static void chinese(Gen *g) {
    int n = 10 + (int)rng_below(&g->r, 60);
    for (int i = 0; i < n; i++) {
        /* skewed towards the low end of the range (frequent characters) */
        double u = rng_uniform(&g->r);
        textgen_put_cp(g->out, 0x4E00 + (uint32_t)(u * u * 3000));
        if (rng_below(&g->r, 12) == 0) sb_append(g->out, rng_below(&g->r, 3) ? "\xef\xbc\x8c" : "\xe3\x80\x82");
    }
    sb_append(g->out, "\xe3\x80\x82\n");
}

static void japanese(Gen *g) {
    int n = 8 + (int)rng_below(&g->r, 30);
    for (int i = 0; i < n; i++) {
        uint64_t k = rng_below(&g->r, 10);
        if (k < 5) textgen_put_cp(g->out, 0x3041 + (uint32_t)rng_below(&g->r, 83));
        else if (k < 8) textgen_put_cp(g->out, 0x30A1 + (uint32_t)rng_below(&g->r, 89));
        else textgen_put_cp(g->out, 0x4E00 + (uint32_t)rng_below(&g->r, 2000));
    }
    sb_append(g->out, "\xe3\x80\x82\n");
}

static void numbers(Gen *g) {
    unsigned a = (unsigned)rng_below(&g->r, 100000), b = (unsigned)rng_below(&g->r, 1000);
    switch (rng_below(&g->r, 4)) {
    case 0: sb_printf(g->out, "%u + %u = %u\n", a, b, a + b); break;
    case 1: sb_printf(g->out, "%u * %u = %llu\n", a, b, (unsigned long long)a * b); break;
    case 2: sb_printf(g->out, "x = %u.%03u, y = -%u.%u\n", a, b, b, a); break;
    default: sb_printf(g->out, "#### %u\n", a); break;
    }
}

static void other(Gen *g) {
    int n = 3 + (int)rng_below(&g->r, 10);
    for (int i = 0; i < n; i++) {
        int len = 2 + (int)rng_below(&g->r, 8);
        for (int j = 0; j < len; j++) textgen_put_cp(g->out, 0x430 + (uint32_t)rng_below(&g->r, 32));
        sb_append(g->out, " ");
    }
    if (rng_below(&g->r, 2)) textgen_put_cp(g->out, 0x1F600 + (uint32_t)rng_below(&g->r, 80));
    sb_append(g->out, rng_below(&g->r, 4) ? "\n" : "\n\n\n");
}

void textgen_mixed(uint64_t seed, size_t bytes, StrBuf *out) {
    Gen *g = xmalloc(sizeof *g);
    g->r = rng_make(seed, RNG_DATA, 0x7e47, 0);
    g->out = out;
    static const char *on[] = {"b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v",
                               "w", "th", "st", "ch", "sh", "tr", "pl", "gr", ""};
    static const char *nu[] = {"a", "e", "i", "o", "u", "ea", "ou", "io", "ai", "y"};
    double z = 0;
    for (int i = 0; i < LEX; i++) {
        char *w = g->words[i];
        w[0] = 0;
        int syl = 1 + (int)(rng_below(&g->r, 3) + (i > 2000) + (i > 10000));
        for (int s = 0; s < syl && strlen(w) < 10; s++) {
            strcat(w, on[rng_below(&g->r, 25)]);
            strcat(w, nu[rng_below(&g->r, 10)]);
        }
        if (rng_below(&g->r, 3) == 0 && strlen(w) < 13) strcat(w, (const char *[]){"n", "s", "ng", "ed", "er"}[rng_below(&g->r, 5)]);
        z += 1.0 / (i + 1);
        g->cdf[i] = z;
    }
    for (int i = 0; i < LEX; i++) g->cdf[i] /= z;
    size_t end = out->len + bytes;
    while (out->len < end) {
        uint64_t k = rng_below(&g->r, 100);
        if (k < 55) prose(g);
        else if (k < 70) code(g);
        else if (k < 82) chinese(g);
        else if (k < 87) japanese(g);
        else if (k < 94) numbers(g);
        else other(g);
    }
    free(g);
}
