/* JSON text written by r1.c is valid UTF-8: json_print_line / json_save_file replace each
 * ill-formed byte sequence (lone continuation byte, truncated multi-byte character, overlong
 * form, surrogate, past U+10FFFF) with U+FFFD, and leave valid text (Chinese, emoji) unchanged.
 * Python's json reader raises UnicodeDecodeError on such bytes, which a byte-level BPE model can
 * emit when it stops mid-character. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "test.h"

/* Strict UTF-8 check written independently of the code under test (bit patterns + ranges). */
static int valid_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], len, cp;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
        else return 0;
        if (i + len > n) return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

static char *clean(const char *s) {
    StrBuf b = {0};
    sb_append_utf8_valid(&b, s, strlen(s));
    return sb_take(&b);
}

#define FFFD "\xEF\xBF\xBD"

static void test_invalid_sequences_become_replacement(void) {
    struct { const char *in, *want; } cases[] = {
        {"a\xA2z", "a" FFFD "z"},                      /* lone continuation byte */
        {"x\xE4\xB8", "x" FFFD},                       /* 3-byte character cut after 2 bytes */
        {"\xE4\xB8y", FFFD "y"},                       /* ... followed by ASCII */
        {"\xC0\xAF", FFFD FFFD},                       /* overlong '/' */
        {"\xE0\x80\xAF", FFFD FFFD FFFD},              /* overlong 3-byte */
        {"\xED\xA0\x80", FFFD FFFD FFFD},              /* UTF-16 surrogate D800 */
        {"\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD},     /* above U+10FFFF */
        {"\xF0\x9F\x98", FFFD},                        /* truncated emoji */
        {"\xFF\xFE", FFFD FFFD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = clean(cases[i].in);
        EXPECTF(!strcmp(got, cases[i].want), "case %zu: got \"%s\"", i, got);
        EXPECT(valid_utf8((const unsigned char *)got, strlen(got)));
        free(got);
    }
}

static void test_valid_text_unchanged(void) {
    const char *ok[] = {"", "plain ascii {\"x\": 1}", "中文推理：答案是 42。", "\xF0\x9F\x98\x80 emoji",
                        "\xC2\xA2 \xE2\x82\xAC \xF4\x8F\xBF\xBF"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char *got = clean(ok[i]);
        EXPECTF(!strcmp(got, ok[i]), "case %zu changed", i);
        free(got);
    }
}

/* A JSONL record as generate writes it: prompt in Chinese, completion cut mid-character. */
static void test_json_line_and_file_are_valid_utf8(void) {
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "prompt", "计算 3+4");
    cJSON_AddStringToObject(rec, "completion", "<think>\xA2 \xE4\xB8</think> \xC0\xAF 七");
    char *line = json_print_line(rec);
    EXPECT(valid_utf8((const unsigned char *)line, strlen(line)));
    EXPECT(strstr(line, "\"prompt\":\"计算 3+4\"") != NULL);
    EXPECT(strstr(line, "<think>" FFFD " " FFFD "</think> " FFFD FFFD " 七") != NULL);
    Err e = {0};
    cJSON *back = json_parse_n(line, strlen(line), &e);   /* still parses, same keys */
    const char *c = NULL;
    EXPECT(back && json_get_string(back, "completion", 1, &c, &e) == 0 && c && !strncmp(c, "<think>" FFFD, 10));
    cJSON_Delete(back);
    char path[] = "/tmp/r1_json_utf8_XXXXXX";
    int fd = mkstemp(path);
    EXPECT(fd >= 0);
    if (fd >= 0) {
        close(fd);
        EXPECT(json_save_file(rec, path, &e) == 0);
        size_t n = 0;
        char *text = file_read_all(path, &n, &e);
        EXPECT(text && valid_utf8((const unsigned char *)text, n) && strstr(text, "七"));
        free(text);
        remove(path);
    }
    free(line);
    cJSON_Delete(rec);
}

int main(void) {
    RUN(test_invalid_sequences_become_replacement);
    RUN(test_valid_text_unchanged);
    RUN(test_json_line_and_file_are_valid_utf8);
    return TEST_EXIT();
}
