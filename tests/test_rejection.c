/* Rejection-sampling filters: each has a case that drops and one that keeps. */
#include <string.h>

#include "rl/rs_filter.h"
#include "test.h"

static const RsFilter F = {1, 200, 0.2};
#define GOOD "7+5=12.\nThe answer is 12.\n</think>\n\n<answer>12</answer>"

static RsVerdict check(const char *prompt, const char *c, long n_tokens, int truncated, const char *ref) {
    return rs_check(&F, prompt, c, strlen(c), n_tokens, truncated, ref);
}

static void test_keeps_a_good_sample(void) { EXPECT(check("Compute 7+5.", GOOD, 20, 0, "12") == RS_KEEP); }

static void test_each_filter_drops(void) {
    EXPECT(check("Compute 7+5.", GOOD, 20, 1, "12") == RS_TRUNCATED);
    EXPECT(check("Compute 7+5.", GOOD, 20, 0, "13") == RS_WRONG);
    EXPECT(check("Compute 7+5.", "7+5=12. <answer>12</answer>", 20, 0, "12") == RS_FORMAT);
    EXPECT(check("Compute 7+5.", "七加五得十二 seven plus five is twelve.\n</think>\n\n<answer>12</answer>", 20, 0, "12") ==
           RS_MIXED_LANGUAGE);
    EXPECT(check("Compute 7+5.", "add the two add the two add the two add the two add the two numbers.\n</think>\n\n<answer>12</answer>",
                 20, 0, "12") == RS_REPETITIVE);
    EXPECT(check("Compute 7+5.", GOOD, 500, 0, "12") == RS_LENGTH);
    EXPECT(check("Compute 7+5.", GOOD, 0, 0, "12") == RS_LENGTH);
}

static void test_duplicates_hash_equal_modulo_whitespace(void) {
    const char *a = "x  =\n 1", *b = "x = 1", *c = "x = 2";
    EXPECT(rs_text_hash(a, strlen(a)) == rs_text_hash(b, strlen(b)));
    EXPECT(rs_text_hash(b, strlen(b)) != rs_text_hash(c, strlen(c)));
    EXPECT(!strcmp(rs_verdict_name(RS_DUPLICATE), "duplicate"));
}

int main(void) {
    RUN(test_keeps_a_good_sample);
    RUN(test_each_filter_drops);
    RUN(test_duplicates_hash_equal_modulo_whitespace);
    return TEST_EXIT();
}
