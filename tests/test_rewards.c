/* Rewards (src/rl/rewards.c): each against hand-computed values, the weighted combination and the
 * parser of "name:weight" lists. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rl/rewards.h"
#include "rl/verify.h"
#include "test.h"

static RewardParams P;

static double score(RewardId id, const char *prompt, const char *completion, const char *ref) {
    RewardInput in = {prompt, completion, strlen(completion), ref, 0};
    return reward_score(id, &in, &P);
}

static void test_accuracy(void) {
    EXPECT(score(REWARD_ACCURACY, "Compute 2+3.", "2+3=5\n</think>\n\n<answer>5</answer>", "5") == 1);
    EXPECT(score(REWARD_ACCURACY, "Compute 2+3.", "2+3=5\n</think>\n\n<answer>6</answer>", "5") == 0);
    EXPECT(score(REWARD_ACCURACY, "", "no answer at all 5", "5") == 0);
    EXPECT(score(REWARD_ACCURACY, "", "x", NULL) == 0);
    P.extract_flags |= VERIFY_LAST_NUMBER;
    EXPECT(score(REWARD_ACCURACY, "", "so it is 5", "5") == 1);
    P.extract_flags = VERIFY_DEFAULT;
    EXPECT(score(REWARD_ACCURACY, "", "</think><answer>(8-5)*8</answer>", "countdown:24:5,8,8") == 1);
}

static void test_format(void) {
    EXPECT(score(REWARD_FORMAT, "q<think>\n", "a\n</think>\n\n<answer>42</answer>", NULL) == 1);
    EXPECT(score(REWARD_FORMAT, "q", "<think>a</think> <answer>42</answer>\n", NULL) == 1);
    EXPECT(score(REWARD_FORMAT, "q", "\n</think>\n\n<answer>hi</answer>", NULL) == 1);   /* empty think: short tasks */
    EXPECT(score(REWARD_FORMAT, "q", "a</think><answer>42</answer> trailing", NULL) == 0);
    EXPECT(score(REWARD_FORMAT, "q", "a<answer>1</answer></think><answer>42</answer>", NULL) == 0);
    EXPECT(score(REWARD_FORMAT, "q", "a</think><answer>  </answer>", NULL) == 0);
    EXPECT(score(REWARD_FORMAT, "q", "a</think>text<answer>4</answer>", NULL) == 0);
    EXPECT(score(REWARD_FORMAT, "q", "a<answer>42</answer>", NULL) == 0);
    EXPECT(score(REWARD_FORMAT, "q", "<think>a<think></think><answer>4</answer>", NULL) == 0);
    EXPECT(score(REWARD_FORMAT, "q", "a</think><answer>4", NULL) == 0);
}

static void test_tag_count(void) {
    EXPECT_NEAR(score(REWARD_TAG_COUNT, "q<think>\n", "a</think><answer>4</answer>", NULL), 1.0, 0, 0);
    EXPECT_NEAR(score(REWARD_TAG_COUNT, "q", "a</think><answer>4</answer>", NULL), 0.75, 0, 0);
    EXPECT_NEAR(score(REWARD_TAG_COUNT, "q", "<think>a</think><answer>4", NULL), 0.75, 0, 0);
    EXPECT_NEAR(score(REWARD_TAG_COUNT, "q", "</think></think><answer>", NULL), 0.25, 0, 0);
    EXPECT_NEAR(score(REWARD_TAG_COUNT, "q<think>", "<think>", NULL), 0.0, 0, 0);
}

static void test_language(void) {
    const char *zh = "\xe8\xae\xa1\xe7\xae\x97 2+3\xe3\x80\x82";   /* 计算 2+3。 */
    /* CoT: 二加三得五 (5 Han) -> all Chinese */
    const char *cot_zh = "\xe4\xba\x8c\xe5\x8a\xa0\xe4\xb8\x89\xe5\xbe\x97\xe4\xba\x94 2+3=5\n</think>\n<answer>5</answer>";
    EXPECT_NEAR(score(REWARD_LANGUAGE, zh, cot_zh, "5"), 1.0, 1e-12, 0);
    EXPECT_NEAR(score(REWARD_LANGUAGE, "Compute 2+3.", cot_zh, "5"), 0.0, 1e-12, 0);
    /* 3 English words + 2 Han characters: 3/5 for an English prompt */
    const char *mixed = "two plus three \xe5\xbe\x97\xe4\xba\x94</think><answer>5</answer>";
    EXPECT_NEAR(score(REWARD_LANGUAGE, "Compute 2+3.", mixed, "5"), 0.6, 1e-12, 0);
    EXPECT_NEAR(score(REWARD_LANGUAGE, zh, mixed, "5"), 0.4, 1e-12, 0);
    /* the answer after </think> and tags do not count; no words -> 1 */
    EXPECT_NEAR(score(REWARD_LANGUAGE, zh, "<think>2+3=5</think><answer>five</answer>", "5"), 1.0, 0, 0);
    /* chat-templated prompt: only the user's words decide the target */
    const char *tpl = "<\xef\xbd\x9cUser\xef\xbd\x9c>\xe8\xae\xa1\xe7\xae\x97 2+3<\xef\xbd\x9c" "Assistant\xef\xbd\x9c><think>\n";
    EXPECT_NEAR(score(REWARD_LANGUAGE, tpl, cot_zh, "5"), 1.0, 1e-12, 0);
    EXPECT(text_script(tpl, strlen(tpl)) == SCRIPT_HAN);
}

static void test_cosine(void) {
    P.cos_max_len = 100;
    char buf[200];
    /* length 100 code points -> c = -1: correct gets min_correct, wrong gets min_wrong... */
    memset(buf, 'a', 100);
    buf[100] = 0;
    memcpy(buf + 80, "</think><answer>5</answer>", 26);   /* 80 + 26 = 106 > max: c = -1 */
    buf[106] = 0;
    EXPECT_NEAR(score(REWARD_COSINE, "", buf, "5"), 0.5, 1e-12, 0);
    EXPECT_NEAR(score(REWARD_COSINE, "", buf, "6"), -0.5, 1e-12, 0);
    /* length 50: c = cos(pi/2) = 0 -> midpoints */
    memset(buf, 'a', 50);
    memcpy(buf + 24, "</think><answer>5</answer>", 26);
    buf[50] = 0;
    EXPECT_NEAR(score(REWARD_COSINE, "", buf, "5"), 0.75, 1e-12, 0);
    EXPECT_NEAR(score(REWARD_COSINE, "", buf, "6"), -0.75, 1e-12, 0);
    /* tokens given by the caller take precedence */
    RewardInput in = {"", buf, 50, "5", 1};
    EXPECT_NEAR(reward_cosine(&in, &P), 0.5 + 0.25 * (1 + cos(M_PI / 100)), 1e-12, 0);
    reward_params_default(&P);
}

static void test_repetition(void) {
    EXPECT_NEAR(score(REWARD_REPETITION, "", "a b c d e", NULL), 0.0, 1e-12, 0);
    /* "a b a b a b": 3-grams aba bab aba bab -> 2 unique of 4 -> -0.5 */
    EXPECT_NEAR(score(REWARD_REPETITION, "", "a b a b a b", NULL), -0.5, 1e-12, 0);
    EXPECT_NEAR(score(REWARD_REPETITION, "", "a b", NULL), 0.0, 0, 0);
    /* Han characters are words: 一二一二一二 like above */
    EXPECT_NEAR(score(REWARD_REPETITION, "", "\xe4\xb8\x80\xe4\xba\x8c\xe4\xb8\x80\xe4\xba\x8c\xe4\xb8\x80\xe4\xba\x8c", NULL),
                -0.5, 1e-12, 0);
    /* long repetition (beyond the stack buffer) approaches the max penalty */
    size_t n = 60000;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) s[i] = "ok "[i % 3];
    s[n] = 0;
    double r = score(REWARD_REPETITION, "", s, NULL);
    EXPECT(r < -0.99 && r >= -1.0);
    free(s);
}

static void test_overlong(void) {
    P.overlong_max = 100;
    P.overlong_cache = 20;
    RewardInput in = {"", "x", 1, NULL, 80};
    EXPECT_NEAR(reward_overlong(&in, &P), 0.0, 0, 0);
    in.n_tokens = 90;
    EXPECT_NEAR(reward_overlong(&in, &P), -0.5, 1e-12, 0);
    in.n_tokens = 100;
    EXPECT_NEAR(reward_overlong(&in, &P), -1.0, 1e-12, 0);
    in.n_tokens = 101;
    EXPECT_NEAR(reward_overlong(&in, &P), -1.0, 0, 0);
    reward_params_default(&P);
}

static void test_parse_and_combine(void) {
    RewardSet set;
    Err e = {0};
    EXPECT(rewards_parse("accuracy:1,format:0.5", &set, &e) == 0);
    EXPECT(set.n == 2 && set.id[0] == REWARD_ACCURACY && set.weight[1] == 0.5);
    EXPECT(rewards_parse("accuracy, tag_count : 2", &set, &e) == 0);
    EXPECT(set.n == 2 && set.weight[0] == 1 && set.id[1] == REWARD_TAG_COUNT && set.weight[1] == 2);
    EXPECT(rewards_parse("accuracy,bogus:1", &set, &e) == -1);
    EXPECT(strstr(e.msg, "unknown reward 'bogus'") && !strchr(e.msg, '\n'));
    EXPECT(rewards_parse("accuracy:x", &set, &e) == -1);
    EXPECT(rewards_parse("accuracy:1,accuracy:2", &set, &e) == -1);
    EXPECT(rewards_parse("", &set, &e) == -1);
    EXPECT(rewards_parse("accuracy:1,format:0.5,language:0.1", &set, &e) == 0);
    const char *c = "2+3=5\n</think>\n\n<answer>5</answer>";
    RewardInput in = {"Compute 2+3.", c, strlen(c), "5", 0};
    double each[3];
    EXPECT_NEAR(rewards_score(&set, &in, &P, each), 1 + 0.5 + 0.1, 1e-12, 0);
    EXPECT(each[0] == 1 && each[1] == 1 && each[2] == 1);
    in.reference = "6";
    EXPECT_NEAR(rewards_score(&set, &in, &P, each), 0.6, 1e-12, 0);
}

static void test_bad_input(void) {
    size_t n = 1 << 20;
    char *s = malloc(n);
    for (size_t i = 0; i < n; i++) s[i] = (char)(i * 131 % 256 | 1);
    RewardInput in = {"\xff\xfe<think>", s, n, "\\boxed{", 0};
    for (int id = 0; id < REWARD_COUNT; id++) {
        double r = reward_score((RewardId)id, &in, &P);
        EXPECT(isfinite(r) && r >= -1.0 && r <= 1.0);
    }
    free(s);
}

int main(void) {
    reward_params_default(&P);
    RUN(test_accuracy);
    RUN(test_format);
    RUN(test_tag_count);
    RUN(test_language);
    RUN(test_cosine);
    RUN(test_repetition);
    RUN(test_overlong);
    RUN(test_parse_and_combine);
    RUN(test_bad_input);
    return TEST_EXIT();
}
