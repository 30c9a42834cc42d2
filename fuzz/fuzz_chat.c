/* Fuzz target: chat-template rendering (tokenizer/chat.h) of any conversation. Input: the first
 * byte's low bit asks for the generation prompt; then messages separated by 0x00 bytes, each a
 * role byte (system, user, assistant, tool, or an unknown role) and its content. Checks: an
 * unknown role is refused naming messages[i]; otherwise the rendering equals the one written here
 * from the rules in chat.h (a second reading of them), encodes with DeepSeek-V3's tokenizer and
 * decodes back to the same bytes, and every BOS, EOS, User and Assistant token in the ids is one
 * of the places those strings occur in the text (never split into pieces, never invented). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tokenizer/chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOOL_OUTPUTS_BEGIN "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define TOOL_OUTPUTS_END "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "end\xef\xbd\x9c>"
#define TOOL_OUTPUT_BEGIN "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define TOOL_OUTPUT_END "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "end\xef\xbd\x9c>"

/* content.split('</think>')[-1]: what follows the last "</think>" (searched from the end). */
static const char *after_last_think(const char *c) {
    const size_t k = strlen(CHAT_END_THINK);
    for (size_t i = strlen(c); i >= k; i--)
        if (memcmp(c + i - k, CHAT_END_THINK, k) == 0) return c + i;
    return c;
}

static void render_ref(const ChatMessage *m, int n, int gen, StrBuf *out) {
    sb_append(out, CHAT_BOS);
    const char *sep = "";
    for (int i = 0; i < n; i++)
        if (!strcmp(m[i].role, "system")) { sb_append(out, sep); sb_append(out, m[i].content); sep = "\n\n"; }
    int in_tool = 0, outputs = 0;
    for (int i = 0; i < n; i++) {
        const char *r = m[i].role, *c = m[i].content;
        if (!strcmp(r, "user")) {
            in_tool = 0;
            sb_append(out, CHAT_USER);
            sb_append(out, c);
        } else if (!strcmp(r, "assistant") && in_tool) {
            sb_append(out, TOOL_OUTPUTS_END);
            sb_append(out, c);
            sb_append(out, CHAT_EOS);
            in_tool = 0;
        } else if (!strcmp(r, "assistant")) {
            sb_append(out, CHAT_ASSISTANT);
            sb_append(out, after_last_think(c));
            sb_append(out, CHAT_EOS);
        } else if (!strcmp(r, "tool")) {
            sb_append(out, outputs++ ? "\n" TOOL_OUTPUT_BEGIN : TOOL_OUTPUTS_BEGIN TOOL_OUTPUT_BEGIN);
            sb_append(out, c);
            sb_append(out, TOOL_OUTPUT_END);
            in_tool = 1;
        }
    }
    if (in_tool) sb_append(out, TOOL_OUTPUTS_END);
    else if (gen) sb_append(out, CHAT_ASSISTANT CHAT_THINK "\n");
}

static size_t occurrences(const char *s, size_t n, const char *w) {
    size_t k = strlen(w), c = 0;
    for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), w, k)); p += k) c++;
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || size > 4096) return 0;
    static const char *const ROLES[] = {"system", "user", "assistant", "tool", "User"};
    int gen = data[0] & 1, n = 0;
    ChatMessage m[64];
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    int unknown = -1;
    for (char *p = text + 1; p < text + size && n < 64; p += strlen(p) + 1) {
        unsigned r = (unsigned char)*p % 5;
        if (r == 4 && unknown < 0) unknown = n;
        m[n].role = ROLES[r];
        m[n++].content = *p ? p + 1 : p;
    }
    StrBuf got = {0}, want = {0};
    Err e = {{0}};
    int rc = chat_render(m, n, gen, &got, &e);
    if (unknown >= 0) {
        char where[32];
        snprintf(where, sizeof where, "messages[%d]", unknown);
        FZ_ASSERT(rc != 0);
        fz_check_msg(&e, where);
    } else {
        FZ_ASSERT(rc == 0);
        render_ref(m, n, gen, &want);
        FZ_ASSERT(got.len == want.len && memcmp(got.s, want.s, got.len) == 0);
        Tokenizer *tok = fz_v3();
        TokIds ids = {0};
        FZ_ASSERT(tokenizer_encode(tok, got.s, got.len, &ids, &e) == 0);
        FZ_ASSERT(fz_decodes_to(tok, ids.v, ids.n, got.s, got.len));
        static const char *const ROLE_TOKENS[] = {CHAT_BOS, CHAT_EOS, CHAT_USER, CHAT_ASSISTANT};
        for (int t = 0; t < 4; t++) {
            uint32_t id = (uint32_t)tokenizer_token_id(tok, ROLE_TOKENS[t]);
            size_t count = 0;
            for (size_t i = 0; i < ids.n; i++) count += ids.v[i] == id;
            FZ_ASSERT(count == occurrences(got.s, got.len, ROLE_TOKENS[t]));
        }
        tokids_free(&ids);
    }
    sb_free(&got);
    sb_free(&want);
    free(text);
    return 0;
}
