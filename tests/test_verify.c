/* Answer extraction and equivalence (src/rl/verify*.c) against hand-written cases, including the
 * adversarial ones a policy could use to cheat and inputs that must not crash or hang. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "io/file.h"
#include "io/json.h"
#include "rl/verify.h"
#include "rl/verify_num.h"
#include "test.h"
#include "test_util.h"

static int eq(const char *pred, const char *gold) {
    return verify_equiv(pred, strlen(pred), gold, strlen(gold));
}

static int extract_is(const char *text, int flags, const char *want) {
    Span s;
    if (!verify_extract(text, strlen(text), flags, &s)) return want == NULL;
    return want && s.n == strlen(want) && !memcmp(s.p, want, s.n);
}

static int ref_ok(const char *pred, const char *ref) {
    return verify_reference(pred, strlen(pred), ref, strlen(ref));
}

static void test_extract(void) {
    EXPECT(extract_is("abc\n</think>\n\n<answer>42</answer>", VERIFY_DEFAULT, "42"));
    EXPECT(extract_is("<answer>1</answer> then <answer> 7 </answer>", VERIFY_DEFAULT, "7"));
    /* answers inside the think block do not count once </think> is there */
    EXPECT(extract_is("<answer>1</answer></think>no tags here", VERIFY_DEFAULT, NULL));
    EXPECT(extract_is("so \\boxed{\\frac{1}{2}} and", VERIFY_DEFAULT, "\\frac{1}{2}"));
    EXPECT(extract_is("\\boxed{1} \\fbox{2}", VERIFY_DEFAULT, "2"));
    EXPECT(extract_is("\\boxed{\\{1,2\\}}", VERIFY_DEFAULT, "\\{1,2\\}"));
    EXPECT(extract_is("\\boxed{{a}{b}}", VERIFY_DEFAULT, "{a}{b}"));
    EXPECT(extract_is("\\boxed{unbalanced", VERIFY_DEFAULT, NULL));
    EXPECT(extract_is("<answer>so \\boxed{9}</answer>", VERIFY_DEFAULT, "9"));
    EXPECT(extract_is("x\n#### 1,234\n", VERIFY_DEFAULT, "1,234"));
    EXPECT(extract_is("#### \n", VERIFY_DEFAULT, NULL));
    EXPECT(extract_is("the answer is 5 or maybe -12.5.", VERIFY_DEFAULT, NULL));
    EXPECT(extract_is("the answer is 5 or maybe -12.5.", VERIFY_DEFAULT | VERIFY_LAST_NUMBER, "-12.5"));
    EXPECT(extract_is("costs 1,200 dollars", VERIFY_DEFAULT | VERIFY_LAST_NUMBER, "1,200"));
    EXPECT(extract_is("<answer></answer>", VERIFY_DEFAULT, NULL));
    EXPECT(extract_is("<answer>5", VERIFY_DEFAULT, NULL));
}

static void test_numbers(void) {
    EXPECT(eq("42", "42"));
    EXPECT(!eq("41", "42"));
    EXPECT(eq("042", "42"));
    EXPECT(eq("+42", "42"));
    EXPECT(eq("\xe2\x88\x92" "5", "-5"));   /* U+2212 minus */
    EXPECT(!eq("5", "-5"));
    EXPECT(eq("- 5", "-5"));
    EXPECT(eq("1,234", "1234"));
    EXPECT(eq("1,234,567.5", "1234567.5"));
    EXPECT(eq("1{,}000", "1000"));
    EXPECT(eq("0.50", "0.5"));
    EXPECT(eq("42.0", "42"));
    EXPECT(eq(".5", "0.5"));
    EXPECT(eq("\\frac{1}{2}", "1/2"));
    EXPECT(eq("\\dfrac{2}{4}", "\\tfrac12"));
    EXPECT(eq("0.5", "\\frac{1}{2}"));           /* a non-plain reference takes any equal value */
    EXPECT(!eq("\\frac{1}{3}", "0.333"));
    EXPECT(eq("-\\frac{3}{4}", "\\frac{-3}{4}"));
    EXPECT(eq("50\\%", "50"));
    EXPECT(eq("50%", "50"));
    EXPECT(eq("\\$18", "18"));
    EXPECT(eq("$18$", "18"));
    EXPECT(eq("90^\\circ", "90"));
    EXPECT(eq("90^{\\circ}", "90"));
    EXPECT(eq("90\xc2\xb0", "90"));
    EXPECT(eq("5 cm", "5"));
    EXPECT(eq("5\\text{ cm}", "5"));
    EXPECT(eq("12 dollars", "12"));
    EXPECT(eq("x = 7", "7"));
    EXPECT(eq("\\left( 3 \\right)", "3"));
    EXPECT(eq("1024", "2^{10}"));
    EXPECT(eq("1024", "2^10"));
    EXPECT(eq("\\sqrt{12}", "2\\sqrt{3}"));
    EXPECT(eq("\\sqrt{51}", "\\sqrt{51}"));
    EXPECT(eq("\xe2\x88\x9a" "51", "\\sqrt{51}"));
    EXPECT(eq("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}"));
    EXPECT(!eq("\\sqrt{16}", "\\sqrt{4}\\cdot 2"));   /* \cdot is not a closed form */
    EXPECT(eq("2^{-1}", "\\frac{1}{2}"));
    EXPECT(!eq("\\sqrt{2}", "\\sqrt{3}"));
}

/* What a policy could try to get the reward without the answer. */
static void test_no_false_accepts(void) {
    EXPECT(!eq("84/2", "42"));          /* the question, unevaluated */
    EXPECT(!eq("\\frac{84}{2}", "42"));
    EXPECT(!eq("6*7", "42"));
    EXPECT(!eq("40+2", "42"));
    EXPECT(!eq("\\frac{2}{4}", "0.5"));  /* a plain reference takes evaluated forms only */
    EXPECT(!eq("\\sqrt{4}", "2"));
    EXPECT(!eq("2\\times21", "42"));
    EXPECT(!eq("42 or 43", "42"));
    EXPECT(!eq("42, 43", "42"));
    EXPECT(!eq("", "42"));
    EXPECT(!eq("42", ""));
    EXPECT(!eq("5x", "5"));
    EXPECT(!eq("1,2", "12"));
    EXPECT(!eq("12", "1,2"));
    EXPECT(!eq("1/0", "2/0"));          /* division by zero is never a value */
    EXPECT(!eq("0/0", "0"));
    EXPECT(!eq("\\frac{1}{0}", "1"));
    EXPECT(!eq("\\sqrt{-4}", "2"));
    EXPECT(!eq("(1,2)", "[1,2]"));
    EXPECT(!eq("(1,2)", "(2,1)"));
    EXPECT(!eq("(1,2]", "(1,2)"));
    EXPECT(!eq("\\{1,2\\}", "\\{1,2,3\\}"));
    EXPECT(!eq("\\{1,1\\}", "\\{1,2\\}"));
    EXPECT(!eq("x=5, y=2", "5"));
    EXPECT(!eq("999999999999999999999", "999999999999999999998"));
}

static void test_lists_and_symbols(void) {
    EXPECT(eq("(1, 2)", "(1,2)"));
    EXPECT(eq("\\left(1,\\frac{1}{2}\\right)", "(1, 0.5)"));   /* 1/2 is 0.5 written as a fraction */
    EXPECT(!eq("\\left(1,\\frac{2}{4}\\right)", "(1, 0.5)"));
    EXPECT(eq("(1, 0.5)", "\\left(1,\\frac{1}{2}\\right)"));
    EXPECT(eq("[-1, 3)", "[-1,3)"));
    EXPECT(eq("\\{3, 1, 2\\}", "\\{1,2,3\\}"));
    EXPECT(eq("3, 1, 2", "1, 2, 3"));
    EXPECT(eq("((1,2),(3,4))", "((1, 2), (3, 4))"));
    EXPECT(eq("\\text{Monday}", "Monday"));
    EXPECT(eq("\\mathrm{B}", "B"));
    EXPECT(eq("x^{2}+1", "x^2 + 1"));
    EXPECT(eq("{x+1}", "x+1"));
    EXPECT(eq("\\pi", "\\pi"));
    EXPECT(!eq("2\\pi", "\\pi"));
    EXPECT(eq("\\frac{\\pi}{2}", "\\dfrac{\\pi}{2}"));
}

/* The answer formats of Math-Verify's test suite that have one exact value, each accepted. */
static void test_answer_formats(void) {
    static const char *const ACCEPT[][2] = {
        /* prediction, reference */
        {"2^{10}", "1024"},           {"10^3", "1000"},           {"10^{-3}", "0.001"},
        {"(-2)^3", "-8"},             {"1e3", "1000"},            {"1E3", "1000"},
        {"1.5e3", "1500"},            {"2.5e-1", "0.25"},         {"1.5\\times10^{3}", "1500"},
        {"1.5 \\times 10^3", "1500"}, {"1.5\xc3\x97" "10^3", "1500"}, {"3\\cdot10^{2}", "300"},
        {"1500", "1.5\\times10^{3}"}, {"1/2", "0.5"},             {"0.5", "1/2"},
        {"\\frac{1}{2}", "0.5"},      {"-\\frac{3}{4}", "-0.75"}, {"\\frac{-3}{4}", "-0.75"},
        {"\\frac12", "1/2"},          {"\\frac12", "0.5"},        {"\\dfrac{1}{2}", "\\frac12"},
        {"\\cfrac{1}{3}", "1/3"},     {"\\frac1{3}", "1/3"},      {"\\frac{3}3", "3/3"},
        {"\\sqrt3", "\\sqrt{3}"},     {"\\sqrt51", "\\sqrt{5}"},  {"\\sqrt{5}1", "\\sqrt{5}"},
        {"\\sqrt{3}2", "2\\sqrt{3}"}, {"\\left( 1, 2 \\right)", "(1,2)"},
        {"\\left[0, 1\\right)", "[0,1)"},
        {"\\left(-\\infty, 3\\right]", "(-\\infty,3]"}, {"(-\xe2\x88\x9e, 3]", "(-\\infty, 3]"},
        {"\\left\\{1, 2\\right\\}", "\\{2,1\\}"},   {"\\left( \\frac{1}{2}, 3 \\right)", "(0.5, 3)"},
        {"$18", "18"},                {"\\$18", "18"},            {"18 dollars", "18"},
        {"18\\text{ cm}", "18"},      {"18 \\text{cm}", "18\\text{ cm}"}, {"x = 7", "7"},
        {"k=\\frac13", "1/3"},        {"15 cm^2", "15"},          {"15\\mbox{ cm}^2", "15 cm\xc2\xb2"},
        {"\\text{18 dollars}", "18"}, {"\xe2\x82\xac" "18", "18"}, {"18.00", "18"},
        {"1,000,000", "1000000"},     {"1 000", "1000"},          {"1\\,000", "1000"},
        {"1{,}000", "1000"},          {"12,345.5", "12345.5"},    {"28\\%", "28\\%"},
        {"28", "28\\%"},              {"28 %", "28\\%"},          {"28 percent", "28\\%"},
        {"28 pct", "28\\%"},
    };
    for (size_t i = 0; i < sizeof ACCEPT / sizeof ACCEPT[0]; i++)
        EXPECTF(eq(ACCEPT[i][0], ACCEPT[i][1]), "'%s' should equal '%s'", ACCEPT[i][0], ACCEPT[i][1]);
    EXPECT(extract_is("so \\boxed{\\frac12}.", VERIFY_DEFAULT, "\\frac12"));
    EXPECT(ref_ok("1.5\\times10^{3}", "#### 1,500"));
}

/* Near misses: each looks like the reference and is not it. */
static void test_near_misses(void) {
    static const char *const REJECT[][2] = {
        {"2^{10}", "1000"},           {"2^{10}", "2^{11}"},       {"10^3", "10^4"},
        {"1e3", "100"},               {"1e3", "1e4"},             {"1e-3", "1000"},
        {"1.5\\times10^{3}", "150"},  {"1.5\\times10^{3}", "15000"}, {"1.5\\times10^{3}", "1.5"},
        {"1.5\\times3", "4.5"},       {"6\\times10", "60"},       {"\\frac{1}{2}", "\\frac{2}{1}"},
        {"\\frac{1}{2}", "2"},        {"1/2", "2/1"},             {"1/3", "0.333"},
        {"0.333", "1/3"},             {"0.33", "\\frac13"},       {"\\frac{84}{2}", "42"},
        {"84/2", "42"},               {"\\frac{2}{4}", "0.5"},    {"\\frac{-2}{-4}", "0.5"},
        {"\\frac{1}{2}", "-0.5"},     {"\\sqrt51", "\\sqrt{51}"}, {"\xe2\x88\x9a" "51", "\\sqrt{5}"},
        {"\\sqrt{4}", "2"},           {"[0,1]", "[0,1)"},         {"(0,1)", "[0,1]"},
        {"\\left(0,1\\right]", "(0,1)"}, {"\\left[0,1\\right]", "\\left(0,1\\right)"},
        {"(1,2)", "(2,1)"},           {"(1,2)", "\\{1,2\\}"},     {"(-\\infty,3)", "(-\\infty,3]"},
        {"(-\\infty,3)", "(\\infty,3)"}, {"12 3", "123"},         {"1 2", "12"},
        {"1\\,2", "12"},              {"1,23", "123"},            {"1,2345", "12345"},
        {"28", "0.28"},               {"28\\%", "0.28"},          {"0.28", "28\\%"},
        {"18 cm", "18 m"},            {"18 dollars", "18 cents"}, {"18 cm^2", "18 cm^3"},
        {"18", "81"},                 {"x = 7", "-7"},            {"x = 7, y = 2", "2"},
        {"7x", "7"},                  {"$18$ or $19$", "18"},     {"2e", "2"},
        {"1e400", "1e401"},           {"2^{300}", "2^{301}"},
    };
    for (size_t i = 0; i < sizeof REJECT / sizeof REJECT[0]; i++)
        EXPECTF(!eq(REJECT[i][0], REJECT[i][1]), "'%s' should not equal '%s'", REJECT[i][0], REJECT[i][1]);
}

static void test_big_numbers(void) {
    char a[1100], b[1100];
    memset(a, '7', 1000);
    a[1000] = 0;
    memcpy(b, "000", 3);
    memset(b + 3, '7', 1000);
    b[1003] = 0;
    EXPECT(eq(a, a));
    EXPECT(eq(b, a));          /* leading zeros, digit by digit */
    a[500] = '8';
    EXPECT(!eq(a, b));
    EXPECT(!eq("99999999999999999999/3", "33333333333333333333"));   /* overflow: reject, not guess */
    EXPECT(eq("9223372036854775807", "9223372036854775807"));
    EXPECT(eq("9223372036854775808.000", "9223372036854775808"));
    NumVal v;
    NumForm plain;
    EXPECT(num_parse_answer("2^{256}", 7, &v, &plain) == -1);
    EXPECT(num_parse_answer("\\sqrt{99999999999999999}", 23, &v, &plain) == -1);
}

/* GSM8K's test set (when the file is there): every record's "#### n" is extracted from its own
 * worked answer, and the number verifies in the ways a model writes it, while near numbers fail. */
static void test_gsm8k_answers(void) {
    const char *path;
    SKIP_IF(tu_no_gsm8k(&path));
    size_t n;
    Err e = {{0}};
    char *buf = file_read_all(path, &n, &e);
    EXPECT(buf != NULL);
    if (!buf) return;
    int records = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = json_parse_n(line, strlen(line), &e);
        const char *answer = NULL;
        EXPECT(j && json_get_string(j, "answer", 1, &answer, &e) == 0);
        if (!answer) { cJSON_Delete(j); continue; }
        records++;
        Span ref;
        EXPECT(verify_extract(answer, strlen(answer), VERIFY_DEFAULT, &ref));
        EXPECTF(verify_completion(answer, strlen(answer), answer, strlen(answer), VERIFY_DEFAULT),
                "record %d: its own answer fails: %s", records, answer);
        /* the digits without separators, as a model writes them */
        char digits[64], text[160];
        size_t k = 0;
        for (size_t i = 0; i < ref.n && k < sizeof digits - 1; i++)
            if (ref.p[i] != ',') digits[k++] = ref.p[i];
        digits[k] = 0;
        long long v = atoll(digits);
        static const char *const OK[][2] = {{"<answer>", "</answer>"}, {"\\boxed{", "}"}, {"<answer>$", "</answer>"},
                                            {"<answer>", " dollars</answer>"}, {"#### ", ""}};
        for (size_t f = 0; f < sizeof OK / sizeof OK[0]; f++) {
            snprintf(text, sizeof text, "%s%s%s", OK[f][0], digits, OK[f][1]);
            EXPECTF(verify_completion(text, strlen(text), answer, strlen(answer), VERIFY_DEFAULT), "record %d: '%s' vs '%.*s'",
                    records, text, (int)ref.n, ref.p);
        }
        snprintf(text, sizeof text, "<answer>%lld</answer>", v + 1);
        EXPECTF(!verify_completion(text, strlen(text), answer, strlen(answer), VERIFY_DEFAULT), "record %d: %s", records, text);
        snprintf(text, sizeof text, "<answer>%lld.%lld</answer>", v / 10, (v < 0 ? -v : v) % 10);
        EXPECTF(v % 10 == 0 || !verify_completion(text, strlen(text), answer, strlen(answer), VERIFY_DEFAULT),
                "record %d: %s", records, text);
        if (v >= 1000 && v % 1000 == 0) {
            snprintf(text, sizeof text, "<answer>%llde3</answer>", v / 1000);
            EXPECTF(verify_completion(text, strlen(text), answer, strlen(answer), VERIFY_DEFAULT), "record %d: %s", records, text);
        }
        cJSON_Delete(j);
        if (test_failures_in_current > 5) break;
    }
    EXPECTF(records > 1000, "%d records", records);
    free(buf);
}

static void test_countdown(void) {
    long long n3[] = {3, 5, 8};
    EXPECT(verify_countdown("(8-5)*8", 7, 24, n3, 3) == 0);       /* 8 twice, 3 unused */
    EXPECT(verify_countdown("3*8", 3, 24, n3, 3) == 0);           /* 5 unused */
    long long n4[] = {3, 5, 8, 1};
    EXPECT(verify_countdown("(5-3+1)*8", 9, 24, n4, 4));
    EXPECT(verify_countdown("8 * (5 - 3 + 1) = 24", 20, 24, n4, 4));
    EXPECT(!verify_countdown("8 * (5 - 3 + 1) = 25", 20, 24, n4, 4));
    EXPECT(verify_countdown("8\xc3\x97(5\xe2\x88\x92" "3+1)", 12, 24, n4, 4));
    long long nd[] = {1, 2, 3, 4};
    EXPECT(verify_countdown("(1+2)/3*4", 9, 4, nd, 4));            /* exact rational division */
    EXPECT(verify_countdown("4/(1-2/3)", 9, 12, (long long[]){4, 1, 2, 3}, 4));
    EXPECT(!verify_countdown("4/(3-3)+1+2", 11, 4, nd, 4));        /* division by zero */
    EXPECT(!verify_countdown("-1+2+3+4", 8, 8, nd, 4));            /* no unary minus */
    EXPECT(!verify_countdown("1+2+3+4.0", 9, 10, nd, 4));
    EXPECT(!verify_countdown("1+2+3+4+4", 9, 14, nd, 4));
    EXPECT(!verify_countdown("12+3+4", 6, 19, nd, 4));             /* digits glued together */
    EXPECT(!verify_countdown("1+2+3+4 ", 8, 11, nd, 4));
    EXPECT(verify_countdown("1+2+3+4 ", 8, 10, nd, 4));
    EXPECT(!verify_countdown("99999999999999999999*1+2+3", 26, 5, nd, 4));
    EXPECT(!verify_countdown("9223372036854775807*9223372036854775807/9223372036854775807+0", 60, 0, nd, 4));
    /* typed references */
    EXPECT(ref_ok("(5-3+1)*8", "countdown:24:3,5,8,1"));
    EXPECT(!ref_ok("(5-3+1)*8", "countdown:24:3,5,8"));
    EXPECT(!ref_ok("24", "countdown:24:3,5,8"));
    EXPECT(!ref_ok("1", "countdown:bad"));
    EXPECT(ref_ok(" abc d ", "exact:abc d"));
    EXPECT(!ref_ok("abcd", "exact:abc d"));
    EXPECT(!ref_ok("ABC D", "exact:abc d"));
    EXPECT(ref_ok("18", "She makes 9 * 2 = $<<9*2=18>>18.\n#### 18"));
    EXPECT(ref_ok("1/2", "so \\boxed{\\frac12}"));
}

static void test_deep_nesting(void) {
    /* deep parentheses / braces: bounded recursion, a reject, no stack overflow */
    size_t n = 200000;
    char *s = malloc(2 * n + 2);
    for (size_t i = 0; i < n; i++) { s[i] = '('; s[n + 1 + i] = ')'; }
    s[n] = '1';
    s[2 * n + 1] = 0;
    long long one[] = {1};
    EXPECT(!verify_countdown(s, 2 * n + 1, 1, one, 1));
    EXPECT(!eq(s, "1"));
    for (size_t i = 0; i < n; i++) { s[i] = '{'; s[n + 1 + i] = '}'; }
    EXPECT(!eq(s, "1"));     /* longer than VERIFY_MAX_ANSWER */
    s[1000] = 0;
    EXPECT(!eq(s, "1"));
    free(s);
    /* deep \frac nesting within the size limit */
    char buf[4000];
    size_t k = 0;
    for (int i = 0; i < 300; i++) { memcpy(buf + k, "\\frac{", 6); k += 6; }
    buf[k] = 0;
    EXPECT(!eq(buf, "1"));
}

static void test_huge_text(void) {
    size_t n = 1 << 20;
    char *s = malloc(n + 64);
    for (size_t i = 0; i < n; i++) s[i] = "ab{}\\boxed<answer>#"[i % 19];
    s[n] = 0;
    Span out;
    verify_extract(s, n, VERIFY_DEFAULT | VERIFY_LAST_NUMBER, &out);   /* no crash, no hang */
    EXPECT(verify_completion(s, n, "42", 2, VERIFY_DEFAULT | VERIFY_LAST_NUMBER) == 0);
    /* invalid UTF-8 everywhere */
    for (size_t i = 0; i < n; i++) s[i] = (char)(0x80 | (i * 37 % 128));
    memcpy(s + n - 20, "<answer>42</answer>", 19);
    EXPECT(verify_completion(s, n - 1, "42", 2, VERIFY_DEFAULT) == 1);
    free(s);
}

int main(void) {
    RUN(test_extract);
    RUN(test_numbers);
    RUN(test_no_false_accepts);
    RUN(test_lists_and_symbols);
    RUN(test_answer_formats);
    RUN(test_near_misses);
    RUN(test_big_numbers);
    RUN(test_countdown);
    RUN(test_gsm8k_answers);
    RUN(test_deep_nesting);
    RUN(test_huge_text);
    return TEST_EXIT();
}
