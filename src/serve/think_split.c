/* Reasoning / answer split of streamed text (see think_split.h). */
#include "serve/think_split.h"

#include <stdint.h>
#include <string.h>

#include "tokenizer/chat.h"

#define TAG CHAT_END_THINK
#define TAG_LEN (sizeof TAG - 1)

void think_split_init(ThinkSplit *t, size_t hold) {
    memset(t, 0, sizeof *t);
    t->close_at = SIZE_MAX;
    t->hold = hold;
}

void think_split_free(ThinkSplit *t) { sb_free(&t->text); }

void think_split_append(ThinkSplit *t, const char *bytes, size_t n) {
    sb_append_n(&t->text, bytes, n);
    if (t->close_at != SIZE_MAX || t->text.len < TAG_LEN) return;
    size_t from = t->scanned >= TAG_LEN - 1 ? t->scanned - (TAG_LEN - 1) : 0;
    for (size_t k = from; k + TAG_LEN <= t->text.len; k++)
        if (!memcmp(t->text.s + k, TAG, TAG_LEN)) { t->close_at = k; break; }
    t->scanned = t->text.len;
}

int think_split_closed(const ThinkSplit *t) { return t->close_at != SIZE_MAX; }

/* Appends s[0..n) with every NUL byte as U+FFFD: the parts become C strings (JSON through cJSON),
 * which would end at a NUL a byte-level model can emit. */
static void put(StrBuf *b, const char *s, size_t n) {
    for (const char *z; n > 0 && (z = memchr(s, 0, n)) != NULL; n -= (size_t)(z - s) + 1, s = z + 1) {
        sb_append_n(b, s, (size_t)(z - s));
        sb_append(b, "\xef\xbf\xbd");
    }
    if (n > 0) sb_append_n(b, s, n);
}

/* end moved back to the start of an incomplete UTF-8 character that ends the text before it */
static size_t utf8_boundary(const char *s, size_t start, size_t end) {
    for (size_t back = 1; back <= 3 && end >= start + back; back++) {
        unsigned char c = (unsigned char)s[end - back];
        if ((c & 0xC0) == 0x80) continue;                   /* continuation byte */
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > back ? end - back : end;
    }
    return end;
}

/* The longest suffix of s[start, end) that is a proper prefix of the tag: its length. */
static size_t partial_tag(const char *s, size_t start, size_t end) {
    for (size_t k = TAG_LEN - 1; k > 0; k--)
        if (end >= start + k && !memcmp(s + end - k, TAG, k)) return k;
    return 0;
}

void think_split_take(ThinkSplit *t, int final, size_t cut, StrBuf *reasoning, StrBuf *content) {
    const char *s = t->text.s;
    size_t end = t->text.len;
    if (final) {
        if (cut < end) end = cut;
    } else {
        end = end > t->hold ? end - t->hold : 0;
        end = utf8_boundary(s, t->done, end);
    }
    if (end <= t->done) return;
    if (!t->answering) {
        if (t->close_at != SIZE_MAX && t->close_at + TAG_LEN <= end) {
            size_t r = t->close_at;
            while (r > t->done && s[r - 1] == '\n') r--;    /* newlines before the tag */
            if (r > t->done) put(reasoning, s + t->done, r - t->done);
            t->done = t->close_at + TAG_LEN;
            t->answering = 1;
        } else {
            size_t r = final || end < t->close_at ? end : t->close_at;   /* final: a cut tag is text */
            if (!final) {
                if (r == end) r -= partial_tag(s, t->done, r);
                while (r > t->done && s[r - 1] == '\n') r--;
            }
            if (r > t->done) put(reasoning, s + t->done, r - t->done);
            if (r > t->done) t->done = r;
            return;
        }
    }
    if (!t->answer_started)
        while (t->done < end && s[t->done] == '\n') t->done++;
    if (t->done < end) {
        t->answer_started = 1;
        put(content, s + t->done, end - t->done);
        t->done = end;
    }
}
