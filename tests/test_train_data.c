/* The token cache (text and JSONL → u32 file, staleness, bad lines) and the batch loader
 * (sequence cutting, held-out split, seeded epoch order, resume cursor). A byte-level encoder
 * (id = byte + 2, EOS = 1) stands in for the tokenizer. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rng.h"
#include "io/file.h"
#include "test.h"
#include "test_util.h"
#include "train/loader.h"
#include "train/tokcache.h"

static int byte_encode(void *ctx, const char *text, size_t len, TokIds *out, Err *e) {
    (void)ctx; (void)e;
    for (size_t i = 0; i < len; i++) tokids_push(out, (uint32_t)(unsigned char)text[i] + 2);
    return 0;
}

static char tmpdir[256];

static const char *tpath(const char *name) { return tu_path(tmpdir, name); }

static void test_cache_build_and_reuse(void) {
    const char *a = tpath("a.jsonl"), *b = tpath("b.txt"), *cache = tpath("tok.bin");
    tu_put(a, "{\"text\": \"hi\"}\n\n{\"text\": \"yo!\", \"id\": 3}\n");
    tu_put(b, "abc\ndef");
    TextEncoder enc = {.encode = byte_encode, .hash = 42, .eos_id = 1};
    const char *src[] = {a, b};
    TokCacheInfo info;
    Err e = {{0}};
    EXPECT(tokcache_ensure(cache, src, 2, &enc, 0, &info, &e) == 0);
    EXPECT(info.rebuilt == 1 && info.n_docs == 3 && info.n_bad == 0);
    TokFile f;
    EXPECT(tokfile_open(&f, cache, &e) == 0);
    const char *expect = "hi\001yo!\001abc\ndef\001";
    size_t n = strlen(expect);
    EXPECT(f.n_tokens == n);
    int same = f.n_tokens == n;
    for (size_t i = 0; same && i < n; i++)
        same = f.tok[i] == (expect[i] == 1 ? 1u : (uint32_t)(unsigned char)expect[i] + 2);
    EXPECT(same);
    EXPECT(f.tokenizer_hash == 42 && f.eos_id == 1);
    tokfile_close(&f);
    /* fresh: reused */
    EXPECT(tokcache_ensure(cache, src, 2, &enc, 0, &info, &e) == 0);
    EXPECT(info.rebuilt == 0 && info.n_tokens == n && info.n_docs == 3);
    /* another tokenizer: rebuilt */
    enc.hash = 43;
    EXPECT(tokcache_ensure(cache, src, 2, &enc, 0, &info, &e) == 0 && info.rebuilt == 1);
    EXPECT(tokcache_ensure(cache, src, 2, &enc, 0, &info, &e) == 0 && info.rebuilt == 0);
    /* a source changed (size and mtime): rebuilt with the new contents */
    tu_put(b, "abcd\ndef");
    EXPECT(tokcache_ensure(cache, src, 2, &enc, 0, &info, &e) == 0 && info.rebuilt == 1);
    EXPECT(info.n_tokens == n + 1);
    /* a truncated cache is not trusted */
    EXPECT(truncate(cache, 70) == 0);
    EXPECT(tokfile_open(&f, cache, &e) == -1 && strstr(e.msg, "tok.bin"));
    EXPECT(tokcache_ensure(cache, src, 2, &enc, 0, &info, &e) == 0 && info.rebuilt == 1);
    EXPECT(tokfile_open(&f, cache, &e) == 0 && f.n_tokens == n + 1);
    tokfile_close(&f);
}

static void test_bad_jsonl(void) {
    const char *a = tpath("bad.jsonl"), *cache = tpath("bad.bin");
    tu_put(a, "{\"text\": \"ok\"}\n{\"text\": 5}\n{not json\n{\"text\": \"fine\"}\n");
    TextEncoder enc = {.encode = byte_encode, .hash = 1, .eos_id = 1};
    const char *src[] = {a};
    TokCacheInfo info;
    Err e = {{0}};
    EXPECT(tokcache_ensure(cache, src, 1, &enc, 0, &info, &e) == -1);
    EXPECTF(strstr(e.msg, "bad.jsonl:2:") && strstr(e.msg, "text"), "msg: %s", e.msg);
    EXPECT(!file_exists(cache));
    tu_put(a, "{\"text\": \"ok\"}\n[1, 2\n");
    EXPECT(tokcache_ensure(cache, src, 1, &enc, 0, &info, &e) == -1);
    EXPECTF(strstr(e.msg, "bad.jsonl:2: not JSON"), "msg: %s", e.msg);
    tu_put(a, "{\"text\": \"ok\"}\n{\"text\": 5}\n{not json\n{\"text\": \"fine\"}\n");
    EXPECT(tokcache_ensure(cache, src, 1, &enc, 1, &info, &e) == 0);
    EXPECT(info.n_bad == 2 && info.n_docs == 2 && info.n_tokens == 2 + 1 + 4 + 1);
    /* a missing file names itself */
    const char *missing[] = {tpath("nope.txt")};
    EXPECT(tokcache_ensure(cache, missing, 1, &enc, 0, &info, &e) == -1 && strstr(e.msg, "nope.txt"));
}

/* A text file of several MiB is encoded in pieces; the tokens equal encoding it whole. */
static void test_large_text_pieces(void) {
    const char *p = tpath("big.txt"), *cache = tpath("big.bin");
    size_t n = (size_t)3 << 20;
    char *s = malloc(n + 1);
    Rng r = rng_make(9, RNG_TEST, 0, 0);
    for (size_t i = 0; i < n; i++) s[i] = (rng_below(&r, 50) == 0) ? '\n' : (char)('a' + rng_below(&r, 26));
    /* one 2 MiB stretch without a newline forces the no-newline path */
    memset(s + (n / 3), 'x', (size_t)2 << 20 > n - n / 3 ? n - n / 3 : (size_t)2 << 20);
    s[n] = 0;
    Err e = {{0}};
    CHECK(file_write_atomic(p, s, n, &e) == 0);
    TextEncoder enc = {.encode = byte_encode, .hash = 5, .eos_id = 1};
    const char *src[] = {p};
    TokCacheInfo info;
    EXPECT(tokcache_ensure(cache, src, 1, &enc, 0, &info, &e) == 0);
    EXPECT(info.n_tokens == n + 1 && info.n_docs == 1);
    TokFile f;
    EXPECT(tokfile_open(&f, cache, &e) == 0);
    int same = f.n_tokens == n + 1;
    for (size_t i = 0; same && i < n; i++) same = f.tok[i] == (uint32_t)(unsigned char)s[i] + 2;
    EXPECT(same && f.tok[n] == 1);
    tokfile_close(&f);
    free(s);
}

static void test_loader(void) {
    enum { N = 1001, T = 10 };
    uint32_t tok[N];
    for (int i = 0; i < N; i++) tok[i] = (uint32_t)i;
    Loader l;
    Err e = {{0}};
    EXPECT(loader_init(&l, tok, N, T, 0.1, 7, "corpus", &e) == 0);
    EXPECT(l.n_seq == 100 && l.n_val == 10 && l.n_train == 90);
    int tokens[3 * T], targets[3 * T];
    /* an epoch visits every training sequence once, in a seeded order; sequences are cut right */
    int seen[100] = {0};
    int order1[90];
    for (int k = 0; k < 30; k++) {
        loader_next_batch(&l, 3, tokens, targets);
        for (int b = 0; b < 3; b++) {
            int s = tokens[b * T] / T;
            EXPECT(tokens[b * T] % T == 0);
            EXPECT(s < 90);
            seen[s]++;
            order1[k * 3 + b] = s;
            for (int t = 0; t < T; t++) {
                EXPECT(tokens[b * T + t] == s * T + t);
                EXPECT(targets[b * T + t] == s * T + t + 1);
            }
        }
    }
    int all_once = 1, in_order = 1;
    for (int s = 0; s < 90; s++) { all_once &= seen[s] == 1; in_order &= order1[s] == s; }
    EXPECT(all_once);
    EXPECT(!in_order);   /* shuffled */
    EXPECT(l.epoch == 0 && l.pos == 90);
    /* next epoch: another order */
    loader_next_batch(&l, 3, tokens, targets);
    EXPECT(l.epoch == 1 && l.pos == 3);
    int e1[3] = {tokens[0] / T, tokens[T] / T, tokens[2 * T] / T};
    EXPECT(!(e1[0] == order1[0] && e1[1] == order1[1] && e1[2] == order1[2]));
    /* resume from a cursor: same sequences */
    Loader l2;
    EXPECT(loader_init(&l2, tok, N, T, 0.1, 7, "corpus", &e) == 0);
    loader_seek(&l2, 0, 45);
    loader_next_batch(&l2, 3, tokens, targets);
    EXPECT(tokens[0] / T == order1[45] && tokens[T] / T == order1[46] && tokens[2 * T] / T == order1[47]);
    loader_seek(&l2, 1, 1);
    loader_next_batch(&l2, 1, tokens, targets);
    EXPECT(tokens[0] / T == e1[1]);
    loader_free(&l2);
    /* the same seed gives the same order; another seed another */
    Loader l3;
    EXPECT(loader_init(&l3, tok, N, T, 0.1, 8, "corpus", &e) == 0);
    loader_next_batch(&l3, 3, tokens, targets);
    EXPECT(!(tokens[0] / T == order1[0] && tokens[T] / T == order1[1] && tokens[2 * T] / T == order1[2]));
    loader_free(&l3);
    /* held-out: the last 10 sequences */
    loader_val_batch(&l, 8, 2, tokens, targets);
    EXPECT(tokens[0] == 98 * T && targets[2 * T - 1] == 100 * T);
    EXPECT(loader_max_id(&l) == N - 1);
    loader_free(&l);
    /* too little data: a clear error */
    EXPECT(loader_init(&l, tok, 10, T, 0.0, 7, "corpus", &e) == -1 && strstr(e.msg, "too few"));
    EXPECT(loader_init(&l, tok, 0, T, 0.0, 7, "corpus", &e) == -1 && strstr(e.msg, "corpus"));
    EXPECT(loader_init(&l, tok, 11, T, 0.5, 7, "corpus", &e) == -1 && strstr(e.msg, "held-out"));
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/r1_test_train_data_%d", (int)getpid());
    Err e;
    CHECK(file_mkdirs(tmpdir, &e) == 0);
    RUN(test_cache_build_and_reuse);
    RUN(test_bad_jsonl);
    RUN(test_large_text_pieces);
    RUN(test_loader);
    return tu_finish(tmpdir);
}
