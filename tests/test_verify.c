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

/* One judgement: is pred equal to gold? */
typedef struct Case {
    const char *pred, *gold;
    int equal;
} Case;

static void check_cases(const Case *c, size_t n) {
    for (size_t i = 0; i < n; i++)
        EXPECTF(eq(c[i].pred, c[i].gold) == c[i].equal, "'%s' %s '%s'", c[i].pred,
                c[i].equal ? "should equal" : "should not equal", c[i].gold);
}
#define CHECK_CASES(table) check_cases(table, sizeof table / sizeof table[0])

/* Powers: integer bases, integer exponents, exact at any size up to BIG_POW_DIGITS digits. */
static void test_format_powers(void) {
    static const Case C[] = {
        {"2^{10}", "1024", 1},         {"2^10", "1024", 1},           {"1024", "2^{10}", 1},
        {"10^3", "1000", 1},           {"1000", "10^3", 1},           {"10^{3}", "1000", 1},
        {"(-2)^3", "-8", 1},           {"(-2)^{3}", "-8", 1},         {"-8", "(-2)^3", 1},
        {"-2^3", "-8", 1},             {"-2^2", "-4", 1},             {"(-2)^2", "4", 1},
        {"2^{-1}", "0.5", 1},          {"10^{-3}", "0.001", 1},       {"10\xc2\xb3", "1000", 1},
        {"2\xc2\xb9\xe2\x81\xb0", "1024", 1},   {"2\xe2\x81\xbb\xc2\xb9", "0.5", 1},
        /* past 64 bits: exact long decimals */
        {"2^{64}", "18446744073709551616", 1},  {"18446744073709551616", "2^{64}", 1},
        {"-2^{64}", "-18446744073709551616", 1}, {"(-2)^{64}", "18446744073709551616", 1},
        {"(-2)^{65}", "-36893488147419103232", 1},
        {"3^{100}", "515377520732011331036461129765621272702107522001", 1},
        {"10^{30}", "1e30", 1},        {"4^{500}", "2^{1000}", 1},    {"7^{1400}", "7^{1400}", 1},
        {"1^{100000}", "1", 1},        {"0^{100000}", "0", 1},        {"(-1)^{100001}", "-1", 1},
        /* near misses */
        {"2^{10}", "1000", 0},         {"2^{10}", "2^{11}", 0},       {"10^3", "10^4", 0},
        {"3^2", "2^3", 0},             {"2^3", "3^2", 0},             {"-2^2", "4", 0},
        {"(-2)^2", "-4", 0},           {"(-2)^3", "8", 0},            {"10\xc2\xb3", "100", 0},
        {"2^{64}", "18446744073709551617", 0},  {"2^{64}", "18446744073709551615", 0},
        {"-2^{64}", "18446744073709551616", 0}, {"(-2)^{64}", "-18446744073709551616", 0},
        {"3^{100}", "515377520732011331036461129765621272702107522002", 0},
        {"3^{100}", "51537752073201133103646112976562127270210752200", 0},
        {"(-2)^{65}", "36893488147419103232", 0},
        /* too big to expand, or no value: rejected, never guessed, never slow */
        {"2^{100000}", "0", 0},        {"2^{100000}", "1", 0},        {"2^{100000}", "2^{100001}", 0},
        {"2^{100000}", "4^{50000}", 0}, {"7^{1500}", "7^{1501}", 0},  {"9999999999^{999999999}", "1", 0},
        {"2^{99999999999999999999}", "2", 0},   {"2^{2^{10}}", "2^{1024}", 0},
        {"2^{10}^{2}", "1048576", 0},  {"0^0", "1", 0},               {"0^{0}", "1", 0},
        {"0^{-1}", "0", 0},            {"2^{1.5}", "2\\sqrt{2}", 0},
    };
    CHECK_CASES(C);
    NumVal v;
    NumForm form;
    EXPECT(num_parse_answer("0^0", 3, &v, &form) == -1);
    EXPECT(num_parse_answer("2^{64}", 6, &v, &form) == -1);   /* past 64 bits: not here, verify_big */
}

/* Scientific notation: e/E, \times10^, \cdot10^, *10^, superscript exponents. */
static void test_format_scientific(void) {
    static const Case C[] = {
        {"1e3", "1000", 1},            {"1E3", "1000", 1},            {"1000", "1e3", 1},
        {"1.5e-2", "0.015", 1},        {"0.015", "1.5e-2", 1},        {"1.5E-2", "0.015", 1},
        {"1e-3", "0.001", 1},          {"3\\times10^{4}", "30000", 1}, {"3 \\times 10^{4}", "30000", 1},
        {"3 \\cdot 10^4", "30000", 1}, {"3\\cdot10^{4}", "30000", 1}, {"30000", "3\\times10^{4}", 1},
        {"3\\times10^{4}", "3e4", 1},  {"3*10^4", "30000", 1},        {"3\xc3\x97" "10\xe2\x81\xb4", "30000", 1},
        {"6.02\\times10^{23}", "6.02e23", 1},   {"6.02\\times10^{23}", "602000000000000000000000", 1},
        {"1.6\\times10^{-19}", "1.6e-19", 1},   {"1.6\\times10^{-19}", "0.00000000000000000016", 1},
        {"2^{64}", "1.8446744073709551616\\times10^{19}", 1},
        {"100000000000000000000", "1e20", 1},   {"100000000000000000000", "10e19", 1},
        {"100000000000000000000", "0.1e21", 1}, {"1e400", "10^{400}", 1},
        {"1e100000", "10^{100000}", 1},         {"-0.00000000000000000000001", "-10^{-23}", 1},
        /* near misses */
        {"3\\times10^{4}", "3000", 0}, {"3\\times10^{4}", "3\\times10^{5}", 0}, {"1e3", "1e4", 0},
        {"1e3", "100", 0},             {"1e-3", "0.01", 0},           {"1e-3", "1000", 0},
        {"6.02\\times10^{23}", "6.02\\times10^{24}", 0},  {"6.022\\times10^{23}", "6.02\\times10^{23}", 0},
        {"1.6\\times10^{-19}", "1.6e-18", 0},   {"100000000000000000000", "1e21", 0},
        {"1e400", "1e401", 0},         {"1e100000", "1e100001", 0},   {"-10^{-23}", "10^{-23}", 0},
        {"2^{64}", "1.8446744073709551616\\times10^{18}", 0},
        {"3 x 10^4", "30000", 0},      /* x is a variable */
        {"6\\times10", "60", 0},       /* no exponent: a product, the question */
        {"3\\times10^{4.5}", "30000", 0},       {"2e", "2", 0},
    };
    CHECK_CASES(C);
}

/* A fraction and its decimal are equal only when the decimal is exact. */
static void test_format_fraction_decimal(void) {
    static const Case C[] = {
        {"1/2", "0.5", 1},             {"0.5", "1/2", 1},             {"\\frac{3}{4}", "0.75", 1},
        {"0.75", "\\frac{3}{4}", 1},   {"-\\frac{1}{8}", "-0.125", 1}, {"-0.125", "-\\frac{1}{8}", 1},
        {"\\frac{-1}{8}", "-0.125", 1}, {"1/8", "0.125", 1},          {"\\frac{1}{2}", "0.50", 1},
        {"1/3", "0.333", 0},           {"0.333", "1/3", 0},           {"0.33", "1/3", 0},
        {"1/3", "0.33", 0},            {"0.3333333333", "\\frac13", 0}, {"\\frac{2}{3}", "0.667", 0},
        {"0.667", "\\frac23", 0},      {"\\frac{3}{4}", "0.7", 0},    {"1/2", "0.49", 0},
        {"-\\frac{1}{8}", "0.125", 0}, {"\\frac{1}{8}", "-0.125", 0}, {"\\frac{2}{4}", "0.5", 0},
    };
    CHECK_CASES(C);
}

/* LaTeX shorthand, read as LaTeX reads it: a command without braces takes one token, so
 * \frac12 is \frac{1}{2}, \sqrt5 is \sqrt{5} and \sqrt51 is \sqrt{5} followed by 1. */
static void test_format_latex_shorthand(void) {
    static const Case C[] = {
        {"\\frac12", "\\frac{1}{2}", 1}, {"\\frac{1}{2}", "\\frac12", 1}, {"\\dfrac12", "\\frac{1}{2}", 1},
        {"\\dfrac12", "0.5", 1},       {"\\tfrac12", "0.5", 1},       {"\\frac 12", "0.5", 1},
        {"\\frac1{2}", "0.5", 1},      {"\\frac{1}2", "0.5", 1},      {"\\sqrt5", "\\sqrt{5}", 1},
        {"\\sqrt 5", "\\sqrt{5}", 1},  {"\\sqrt51", "\\sqrt{5}", 1},  {"\\sqrt52", "2\\sqrt{5}", 1},
        {"2", "\\sqrt{4}", 1},         {"\\sqrt{4}", "\\sqrt{4}", 1}, {"\\sqrt{4}", "\\frac{4}{2}", 1},
        {"\\sqrt{8}", "2\\sqrt{2}", 1}, {"2\\sqrt{2}", "\\sqrt{8}", 1},
        {"\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt3}2", 1},          {"2", "\\sqrt[3]{8}", 1},
        {"-2", "\\sqrt[3]{-8}", 1},    {"2", "\\sqrt[4]{16}", 1},     {"\\frac12", "\\sqrt[3]{\\frac18}", 1},
        {"\\sqrt[2]{8}", "2\\sqrt{2}", 1},
        /* near misses */
        {"\\frac12", "12", 0},         {"\\frac12", "\\frac{1}{12}", 0},
        {"\\frac123", "1.5", 0},       {"\\frac123", "\\frac32", 0},  /* \frac{1}{2}3: not a mixed number */
        {"1\\frac12", "1.5", 0},       {"1\\frac12", "0.5", 0},       /* mixed number or product: no value */
        {"\\sqrt51", "\\sqrt{51}", 0}, {"\\sqrt{51}", "\\sqrt51", 0}, {"\xe2\x88\x9a" "51", "\\sqrt51", 0},
        {"\\sqrt{2}", "1.414", 0},     {"1.414", "\\sqrt{2}", 0},     {"2", "\\sqrt[3]{9}", 0},
        {"\\sqrt[3]{2}", "\\sqrt[3]{3}", 0}, {"\\sqrt[3]{8}", "\\sqrt{8}", 0}, {"\\sqrt[3]{-8}", "2", 0},
        /* a plain reference takes evaluated answers only: a root of a perfect power is the question */
        {"\\sqrt{4}", "2", 0},         {"\\sqrt{9}", "3", 0},         {"\\sqrt[3]{8}", "2", 0},
    };
    CHECK_CASES(C);
}

/* Tuples, intervals, sets and unions, with or without \left \right. */
static void test_format_tuples_intervals(void) {
    static const Case C[] = {
        {"\\left(1, 2\\right)", "(1,2)", 1},      {"(1,2)", "\\left(1, 2\\right)", 1},
        {"\\left[1, 2\\right)", "[1,2)", 1},      {"\\left[ 1,2 \\right]", "[1,2]", 1},
        {"\\left(1,\\frac12\\right)", "(1,0.5)", 1}, {"\\{1,2\\}", "\\{2,1\\}", 1},
        {"\\left\\{1,2\\right\\}", "\\{1,2\\}", 1}, {"\\lbrace 1,2\\rbrace", "\\{2,1\\}", 1},
        {"\\left\\lbrace 1,2\\right\\rbrace", "\\{2,1\\}", 1},
        {"(-\\infty, 0)", "\\left(-\\infty,0\\right)", 1}, {"(0,+\\infty)", "(0,\\infty)", 1},
        {"(0,+\xe2\x88\x9e)", "(0,\\infty)", 1},
        {"(1,2)\\cup(3,4)", "(1, 2) \\cup (3, 4)", 1}, {"(3,4)\\cup(1,2)", "(1,2)\\cup(3,4)", 1},
        {"(1,\\frac12)\\cup(3,4)", "(1,0.5)\\cup(3,4)", 1},
        {"(-\\infty,1)\\cup(1,+\\infty)", "(-\\infty, 1) \\cup (1, \\infty)", 1},
        {"(1,2)\\cup(3,4)\\cup(5,6)", "(5,6)\\cup(1,2)\\cup(3,4)", 1},
        /* near misses: brackets swapped, order, values, kinds */
        {"[1,2)", "(1,2)", 0},         {"(1,2)", "[1,2)", 0},         {"(1,2]", "(1,2)", 0},
        {"[1,2]", "(1,2)", 0},         {"\\left[1,2\\right)", "\\left(1,2\\right]", 0},
        {"(1,2)", "(2,1)", 0},         {"(1,2)", "(1,3)", 0},         {"(1,2,3)", "(1,2)", 0},
        {"\\{1,2\\}", "(1,2)", 0},     {"(1,2)", "\\{1,2\\}", 0},     {"(0,\\infty)", "(0,-\\infty)", 0},
        {"(1,2]\\cup(3,4)", "(1,2)\\cup(3,4)", 0},  {"(1,2)", "(1,2)\\cup(3,4)", 0},
        {"(1,2)\\cup(1,2)", "(1,2)\\cup(3,4)", 0},  {"[1,2]\\cup[3,4]", "(1,2)\\cup(3,4)", 0},
        {"(1,2)\\cup(3,4)\\cup(5,6)", "(5,6)\\cup(1,2)\\cup(3,5)", 0},
        {"(1,2)\\cup", "(1,2)", 0},
    };
    CHECK_CASES(C);
}

/* Text and units around a number. Allow-listed units, currency, percent and "x =" go; any other
 * word stays, because a free word can change the value: "5 dozen", "5 million", "5 halves",
 * "5 pi". A percent is its number (Math-Verify's reading), not the fraction: 5% is 5, not 0.05. */
static void test_format_text_units(void) {
    static const Case C[] = {
        {"5\\ \\text{cm}", "5", 1},    {"5\\,\\text{cm}", "5", 1},    {"5\\mathrm{cm}", "5", 1},
        {"\\$5", "5", 1},              {"$5", "5", 1},                {"5 dollars", "5", 1},
        {"5%", "5", 1},                {"5\\%", "5", 1},              {"5", "5\\%", 1},
        {"5 percent", "5\\%", 1},      {"x = 5", "5", 1},             {"x=5", "5", 1},
        {"\\boxed{5}", "5", 1},        {"\\boxed{\\boxed{5}}", "5", 1}, {"\\fbox{5}", "5", 1},
        {"\\boxed{x = 5}", "5", 1},    {"\\boxed{5\\text{ cm}}", "5", 1}, {"\\text{5}", "5", 1},
        {"\\textbf{5}", "5", 1},       {"5\\text{ cm}^2", "5", 1},    {"5 cm\xc2\xb2", "5 cm^2", 1},
        {"\\text{5 apples}", "5\\text{ apples}", 1},                  {"x\xc2\xb2", "x^2", 1},
        /* near misses */
        {"\\text{5 apples}", "5", 0},  {"5 apples", "5", 0},          {"5 million", "5", 0},
        {"5 dozen", "5", 0},           {"5 thousand", "5", 0},        {"5\\pi", "5", 0},
        {"5 pi", "5", 0},              {"5 tens", "5", 0},            {"5 halves", "5", 0},
        {"5 \\text{ or } 6", "5", 0},  {"5\\text{ and }6", "5", 0},   {"0.05", "5\\%", 0},
        {"5", "0.05", 0},              {"5\\%", "0.05", 0},           {"5 cm\xc2\xb2", "5 cm^3", 0},
        {"5 cm", "5 m", 0},            {"\\boxed{5}\\boxed{6}", "56", 0}, {"\\boxed{5}\\boxed{6}", "6", 0},
        {"\\boxed{5} apples", "5", 0}, {"x = 5", "-5", 0},            {"5x", "5", 0},
    };
    CHECK_CASES(C);
    /* \boxed inside text, found by extraction */
    static const struct { const char *completion, *ref; int ok; } X[] = {
        {"The answer is \\boxed{5} apples.", "5", 1},
        {"</think>\n<answer>x = \\boxed{5}\\text{ cm}</answer>", "5", 1},
        {"so \\boxed{x = 5}.", "5", 1},
        {"\\boxed{\\text{5 apples}}", "5 apples", 1},
        {"\\boxed{\\text{5 apples}}", "5", 0},
        {"\\boxed{5} or \\boxed{6}", "5", 0},
        {"\\boxed{5} or \\boxed{6}", "6", 1},
    };
    for (size_t i = 0; i < sizeof X / sizeof X[0]; i++)
        EXPECTF(verify_completion(X[i].completion, strlen(X[i].completion), X[i].ref, strlen(X[i].ref),
                                  VERIFY_DEFAULT) == X[i].ok,
                "'%s' against '%s' should be %d", X[i].completion, X[i].ref, X[i].ok);
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
    RUN(test_format_powers);
    RUN(test_format_scientific);
    RUN(test_format_fraction_decimal);
    RUN(test_format_latex_shorthand);
    RUN(test_format_tuples_intervals);
    RUN(test_format_text_units);
    RUN(test_big_numbers);
    RUN(test_countdown);
    RUN(test_gsm8k_answers);
    RUN(test_deep_nesting);
    RUN(test_huge_text);
    return TEST_EXIT();
}
