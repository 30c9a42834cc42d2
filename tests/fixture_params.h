/* The model fixtures' deterministic "fixture init" (tools/README.md), bit-exact with
 * tools/ref_model.py: for tensor NAME and flat index j,
 *   key = mix64(fnv1a64(NAME) ^ mix64(seed)),  u_j = philox4x32(key, j, 0)[0]·2^-32,
 *   value_j = (float)(base + scale·(2u_j − 1))     (computed in double, rounded to float)
 * base/scale: norms 1 ± 0.2, e_score_correction_bias 0 ± 0.1, Linear biases (*.bias) 0 ± 0.5,
 * embed_tokens 0 ± 1, every other (Linear [out, in]) tensor 0 ± 1/sqrt(in). Also the fixture
 * tokens. Header-only, for tests. */
#ifndef R1_TESTS_FIXTURE_PARAMS_H
#define R1_TESTS_FIXTURE_PARAMS_H

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cJSON.h>

#include "base/error.h"
#include "base/rng.h"
#include "kernels/real.h"
#include "model/config.h"
#include "model/model.h"
#include "model/params.h"

static inline uint64_t fixture_fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static inline uint64_t fixture_mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static inline uint64_t fixture_key(const char *name, uint64_t seed) {
    return fixture_mix64(fixture_fnv1a(name) ^ fixture_mix64(seed));
}

static inline double fixture_u(uint64_t key, uint64_t j) {
    uint32_t w[4];
    philox4x32(key, j, 0, w);
    return (double)w[0] * 0x1.0p-32;
}

static inline int fixture_ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Fills every tensor of the table (padding stays 0). */
static inline void fixture_init_params(const ParamTable *pt, real *params, uint64_t seed) {
    memset(params, 0, pt->total * sizeof *params);
    for (int i = 0; i < pt->n; i++) {
        const ParamInfo *p = &pt->t[i];
        double base = 0, scale;
        if (fixture_ends_with(p->name, "norm.weight")) base = 1, scale = 0.2;
        else if (fixture_ends_with(p->name, "e_score_correction_bias")) scale = 0.1;
        else if (fixture_ends_with(p->name, ".bias")) scale = 0.5;
        else if (!strcmp(p->name, "model.embed_tokens.weight")) scale = 1.0;
        else scale = 1.0 / sqrt((double)p->shape[1]);
        uint64_t key = fixture_key(p->name, seed);
        real *w = params + p->offset;
        for (size_t j = 0; j < p->numel; j++)
            w[j] = (real)(float)(base + scale * (2.0 * fixture_u(key, j) - 1.0));
    }
}

/* tokens [B·T]: floor(u·V) with key = mix64(fnv1a64("tokens") ^ mix64(seed)). */
static inline void fixture_tokens(int *tokens, int B, int T, int V, uint64_t seed) {
    uint64_t key = fixture_key("tokens", seed);
    for (int i = 0; i < B * T; i++) tokens[i] = (int)floor(fixture_u(key, (uint64_t)i) * V);
}

/* targets [B·T]: each row's next token, -1 at the row's end. */
static inline void fixture_next_targets(int *targets, const int *tokens, int B, int T) {
    for (int i = 0; i < B * T; i++) targets[i] = i % T + 1 < T ? tokens[i + 1] : -1;
}

/* The model of tests/fixtures/model/NAME/config.json with the fixture init of seed. -1 with the
 * reason in e. */
static inline int fixture_load_model_seed(Model *m, const char *name, uint64_t seed, Err *e) {
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/model/%s/config.json", name);
    ModelConfig cfg;
    if (config_load(&cfg, path, e) != 0) return -1;
    model_init(m, &cfg);
    fixture_init_params(&m->table, m->params, seed);
    return 0;
}

/* ... with seed 1234 (the engine tests' model). */
static inline int fixture_load_model(Model *m, const char *name, Err *e) {
    return fixture_load_model_seed(m, name, 1234, e);
}

/* The model of the config JSON text `json` with the fixture init of seed; a bad config is a bug in
 * the test (CHECK). */
static inline void fixture_model_json(Model *m, const char *json, uint64_t seed) {
    ModelConfig cfg;
    Err e = {{0}};
    cJSON *j = cJSON_Parse(json);
    CHECK(j);
    int rc = config_from_json(&cfg, j, "fixture config", &e);
    cJSON_Delete(j);
    CHECKF(rc == 0, "%s", e.msg);
    model_init(m, &cfg);
    fixture_init_params(&m->table, m->params, seed);
}

#endif
