/* Fuzz target: any bytes as a tokenizer.json either load or fail with a message (never crash);
 * a loaded tokenizer round-trips the input itself and a few fixed texts (with a normalizer the
 * text comes back normalized, which can even form other added tokens: it only has to decode;
 * fuzz_tokenizer_normalize checks that path). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(Tokenizer *t, const char *s, size_t n) {
    TokIds ids = {0};
    Err e = {0};
    if (tokenizer_encode(t, s, n, &ids, &e) == 0) {
        StrBuf back = {0};
        /* a file missing some bytes in its vocabulary fails to encode, which is allowed; what
         * encodes must decode back */
        if (tokenizer_decode(t, ids.v, ids.n, 0, &back, &e)) abort();
        if (!tokenizer_normalizes(t) && (back.len != n || (n && memcmp(back.s, s, n)))) abort();
        sb_free(&back);
    } else if (!e.msg[0]) {
        abort();
    }
    tokids_free(&ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Err e = {0};
    Tokenizer *t = tokenizer_from_json((const char *)data, size, "fuzz.json", &e);
    if (!t) {
        if (!e.msg[0]) abort();
        return 0;
    }
    roundtrip(t, (const char *)data, size < 2048 ? size : 2048);
    const char *fixed = "Hello, world! 12345 \xe4\xb8\xad\xe6\x96\x87 <think>x</think>\n\n  \xff\xfe";
    roundtrip(t, fixed, strlen(fixed));
    tokenizer_free(t);
    return 0;
}
