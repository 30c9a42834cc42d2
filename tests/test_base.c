/* Base layer: RNG determinism and distribution, arena alignment, atomic file writes, JSON getters. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/rng.h"
#include "io/file.h"
#include "io/json.h"
#include "test.h"

static void test_philox_known_answer(void) {
    /* Random123's published known-answer vector for Philox4x32-10 with zero counter and key. */
    uint32_t out[4];
    philox4x32(0, 0, 0, out);
    EXPECT(out[0] == 0x6627e8d5u && out[1] == 0xe169c58du && out[2] == 0xbc57ac4cu && out[3] == 0x9b00dbd8u);
}

static void test_rng_streams_are_keyed(void) {
    Rng a = rng_make(7, RNG_SAMPLE, 3, 1), b = rng_make(7, RNG_SAMPLE, 3, 1);
    Rng c = rng_make(7, RNG_SAMPLE, 3, 2), d = rng_make(8, RNG_SAMPLE, 3, 1);
    int same_ab = 1, same_ac = 1, same_ad = 1;
    for (int i = 0; i < 100; i++) {
        uint32_t x = rng_u32(&a);
        same_ab &= x == rng_u32(&b);
        same_ac &= x == rng_u32(&c);
        same_ad &= x == rng_u32(&d);
    }
    EXPECT(same_ab);
    EXPECT(!same_ac);
    EXPECT(!same_ad);
}

static void test_rng_moments(void) {
    Rng r = rng_make(1, RNG_TEST, 0, 0);
    double s = 0, s2 = 0, u = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = rng_normal(&r);
        s += x; s2 += x * x;
        u += rng_uniform(&r);
    }
    EXPECT_NEAR(s / n, 0.0, 0.01, 0);
    EXPECT_NEAR(s2 / n, 1.0, 0.02, 0);
    EXPECT_NEAR(u / n, 0.5, 0.005, 0);
    uint64_t counts[7] = {0};
    for (int i = 0; i < 70000; i++) counts[rng_below(&r, 7)]++;
    for (int k = 0; k < 7; k++) EXPECT_NEAR((double)counts[k], 10000.0, 400.0, 0);
    /* normal_at is stateless and repeatable */
    EXPECT(rng_normal_at(5, RNG_INIT, 2, 11) == rng_normal_at(5, RNG_INIT, 2, 11));
    EXPECT(rng_normal_at(5, RNG_INIT, 2, 11) != rng_normal_at(5, RNG_INIT, 2, 12));
}

static void test_arena(void) {
    Arena a;
    arena_init(&a, 1 << 12);
    size_t m = arena_mark(&a);
    char *p = arena_alloc(&a, 3);
    float *q = arena_floats(&a, 10);
    EXPECT(((uintptr_t)p & 63) == 0 && ((uintptr_t)q & 63) == 0);
    EXPECT((char *)q >= p + 3);
    arena_reset(&a, m);
    EXPECT(arena_alloc(&a, 1) == p);
    EXPECT(a.peak >= 64 + 40);
    arena_free(&a);
}

static void test_atomic_write_and_json(void) {
    char dir[] = "/tmp/r1_test_XXXXXX";
    EXPECT(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/sub/x.json", dir);
    Err e = {0};
    char sub[256];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    EXPECT(file_mkdirs(sub, &e) == 0);
    const char *text = "{\"a\": 3, \"b\": 2.5, \"c\": \"s\", \"d\": true, \"f\": 1.5}";
    EXPECT(file_write_atomic(path, text, strlen(text), &e) == 0);
    cJSON *j = json_load_file(path, &e);
    EXPECT(j != NULL);
    int64_t a = 0; double b = 0; const char *c = NULL; int d = 0;
    EXPECT(json_get_int(j, "a", 1, &a, &e) == 0 && a == 3);
    EXPECT(json_get_double(j, "b", 1, &b, &e) == 0 && b == 2.5);
    EXPECT(json_get_string(j, "c", 1, &c, &e) == 0 && strcmp(c, "s") == 0);
    EXPECT(json_get_bool(j, "d", 1, &d, &e) == 0 && d == 1);
    EXPECT(json_get_int(j, "f", 1, &a, &e) == -1 && strstr(e.msg, "'f'") != NULL);
    EXPECT(json_get_int(j, "zz", 0, &a, &e) == 1);
    EXPECT(json_get_int(j, "zz", 1, &a, &e) == -1 && strstr(e.msg, "missing") != NULL);
    cJSON_Delete(j);
    /* invalid JSON names the file */
    EXPECT(file_write_atomic(path, "{\"a\": ", 6, &e) == 0);
    EXPECT(json_load_file(path, &e) == NULL && strstr(e.msg, path) != NULL);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    EXPECT(!file_exists(tmp));
    EXPECT(file_remove_tree(dir, &e) == 0 && !file_exists(dir));
}

int main(void) {
    RUN(test_philox_known_answer);
    RUN(test_rng_streams_are_keyed);
    RUN(test_rng_moments);
    RUN(test_arena);
    RUN(test_atomic_write_and_json);
    return TEST_EXIT();
}
