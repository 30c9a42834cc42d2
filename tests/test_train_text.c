/* Text data for pretraining with the real tokenizer (tests/fixtures/tokenizer/v3_pruned):
 * vocabulary check against the config, documents joined by the tokenizer's EOS, the cache
 * reused, tokenizer_config.json provided, empty corpus and bad lines refused clearly. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/file.h"
#include "model/config.h"
#include "test.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "train/pretrain_data.h"

#define TOKENIZER "tests/fixtures/tokenizer/v3_pruned.tokenizer.json"
static char tmpdir[256];

static const char *tpath(const char *name) { return tu_path(tmpdir, name); }

static void test_prepare(void) {
    Err e = {{0}};
    ModelConfig cfg;
    CHECK(config_load(&cfg, "tests/fixtures/train/config.json", &e) == 0);
    Tokenizer *tok = tokenizer_load(TOKENIZER, &e);
    EXPECTF(tok, "%s", e.msg);
    if (!tok) return;
    const char *a = tpath("a.jsonl"), *b = tpath("b.txt");
    tu_put(a, "{\"text\": \"Hello world\"}\n{\"text\": \"2 + 2 = 4\"}\n");
    tu_put(b, "Plain text, one document.\nSecond line.\n");
    const char *files[] = {a, b};
    PretrainData d;
    /* vocab 48 in the config: the tokenizer does not fit */
    EXPECT(pretrain_prepare_data(&d, TOKENIZER, files, 2, tpath("tok.bin"), &cfg, 0, tmpdir, &e) == -1);
    EXPECTF(strstr(e.msg, "vocab_size 48") && strstr(e.msg, "v3_pruned"), "msg: %s", e.msg);
    EXPECT(!file_exists(tpath("tok.bin")));
    cfg.vocab_size = (int)tokenizer_vocab_size(tok);
    EXPECTF(pretrain_prepare_data(&d, TOKENIZER, files, 2, tpath("tok.bin"), &cfg, 0, tmpdir, &e) == 0, "%s", e.msg);
    EXPECT(d.info.rebuilt && d.info.n_docs == 3 && d.info.n_bad == 0);
    EXPECT(d.n_files == 2 && !strcmp(d.files[0].src, TOKENIZER) && !strcmp(d.files[0].name, "tokenizer.json") &&
           file_exists(d.files[1].src) && !strcmp(d.files[1].name, "tokenizer_config.json"));
    EXPECT(file_exists(tpath("data/tokenizer_config.json")));
    /* the stream = encode(doc) + EOS for each document */
    TokFile f;
    EXPECT(tokfile_open(&f, tpath("tok.bin"), &e) == 0);
    TokIds ids = {0};
    const char *docs[] = {"Hello world", "2 + 2 = 4", "Plain text, one document.\nSecond line.\n"};
    uint32_t eos = (uint32_t)tokenizer_eos_id(tok);
    for (int i = 0; i < 3; i++) {
        CHECK(tokenizer_encode(tok, docs[i], strlen(docs[i]), &ids, &e) == 0);
        tokids_push(&ids, eos);
    }
    EXPECT(f.n_tokens == ids.n && f.eos_id == eos);
    EXPECT(f.n_tokens == ids.n && !memcmp(f.tok, ids.v, ids.n * 4));
    tokfile_close(&f);
    tokids_free(&ids);
    pretrain_data_free(&d);
    /* reused the second time */
    EXPECT(pretrain_prepare_data(&d, TOKENIZER, files, 2, tpath("tok.bin"), &cfg, 0, tmpdir, &e) == 0);
    EXPECT(!d.info.rebuilt && d.info.n_docs == 3);
    pretrain_data_free(&d);
    /* empty corpus */
    const char *empty = tpath("empty.jsonl");
    tu_put(empty, "\n\n");
    const char *ef[] = {empty};
    EXPECT(pretrain_prepare_data(&d, TOKENIZER, ef, 1, tpath("e.bin"), &cfg, 0, tmpdir, &e) == -1);
    EXPECTF(strstr(e.msg, "empty"), "msg: %s", e.msg);
    /* a bad line: file and line number; --skip-bad counts it */
    const char *bad = tpath("bad.jsonl");
    tu_put(bad, "{\"text\": \"ok\"}\n{\"txt\": \"no\"}\n");
    const char *bf[] = {bad};
    EXPECT(pretrain_prepare_data(&d, TOKENIZER, bf, 1, tpath("bad.bin"), &cfg, 0, tmpdir, &e) == -1);
    EXPECTF(strstr(e.msg, "bad.jsonl:2:"), "msg: %s", e.msg);
    EXPECT(pretrain_prepare_data(&d, TOKENIZER, bf, 1, tpath("bad.bin"), &cfg, 1, tmpdir, &e) == 0);
    EXPECT(d.info.n_bad == 1 && d.info.n_docs == 1);
    pretrain_data_free(&d);
    tokenizer_free(tok);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/r1_test_train_text_%d", (int)getpid());
    Err e;
    CHECK(file_mkdirs(tmpdir, &e) == 0);
    RUN(test_prepare);
    return tu_finish(tmpdir);
}
