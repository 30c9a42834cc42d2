/* Fuzz target: SFT data (train/sft_data.h): the input as a JSONL file of {"messages": [...]} or
 * {"prompt", "completion"} records, loaded with DeepSeek-V3's tokenizer at two row lengths
 * (truncating, and dropping long examples). Either one error naming FILE:LINE (or the file, when
 * nothing is usable), or a set where every record became an example or was counted as dropped or
 * truncated, every example fits the row length with at least one completion token after its
 * prompt, ids are in the vocabulary, an untruncated example ends with EOS, and one epoch of
 * packed rows puts a loss target on exactly the completion tokens of every example. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "train/sft_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long count_records(const uint8_t *data, size_t size) {
    FzLines it = {data, size, 0, 0};
    const char *s;
    size_t n;
    long k = 0;
    while (fz_next_record(&it, &s, &n)) k++;
    return k;
}

static void check(const char *path, const uint8_t *data, size_t size, int seq_len, int drop_long) {
    Tokenizer *tok = fz_v3();
    const uint32_t vocab = tokenizer_vocab_size(tok);
    const int eos = (int)tokenizer_eos_id(tok);
    SftSet s = {0};
    SftDataOptions o = {.seq_len = seq_len, .drop_long = drop_long};
    Err e = {{0}};
    if (sft_load_jsonl(&s, tok, path, &o, &e) != 0) {
        fz_check_line_msg(&e, path, fz_count_lines(data, size), 1);
        sft_set_free(&s);
        return;
    }
    FZ_ASSERT(s.n >= 1 && s.n + s.dropped == count_records(data, size));
    FZ_ASSERT(drop_long ? s.truncated == 0 : s.truncated <= s.n);
    int64_t completion = 0;
    for (int i = 0; i < s.n; i++) {
        const SftExample *x = &s.ex[i];
        FZ_ASSERT(x->n >= 2 && x->n <= seq_len && x->n_prompt >= 1 && x->n_prompt < x->n);
        for (int k = 0; k < x->n; k++) FZ_ASSERT(x->tok[k] >= 0 && (uint32_t)x->tok[k] < vocab);
        if (x->n < seq_len) FZ_ASSERT(x->tok[x->n - 1] == eos);
        completion += x->n - x->n_prompt;
    }
    /* one epoch of rows in file order: loss targets = completion tokens, nothing else */
    SftBatcher b;
    sft_batcher_init(&b, &s, 1, 0);
    int64_t rows = sft_rows_per_epoch(&s, seq_len), targets = 0;
    FZ_ASSERT(rows >= 1 && rows <= s.n);
    int *tokens = malloc(sizeof(int) * (size_t)seq_len), *tgt = malloc(sizeof(int) * (size_t)seq_len);
    for (int64_t r = 0; r < rows; r++) {
        int n_loss = sft_batcher_row(&b, seq_len, 0, tokens, tgt);
        int counted = 0;
        for (int k = 0; k < seq_len; k++) {
            FZ_ASSERT(tgt[k] == -1 || (tgt[k] >= 0 && (uint32_t)tgt[k] < vocab));
            counted += tgt[k] >= 0;
        }
        FZ_ASSERT(counted == n_loss);
        targets += n_loss;
    }
    FZ_ASSERT(targets == completion && b.epoch == 1 && b.pos == 0);
    free(tokens);
    free(tgt);
    sft_batcher_free(&b);
    sft_set_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_file(0, "sft.jsonl", data, size);
    check(path, data, size, 48, 0);
    check(path, data, size, 96, 1);
    return 0;
}
