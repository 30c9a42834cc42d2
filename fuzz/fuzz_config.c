/* Fuzz target: any bytes parsed as JSON and handed to config_from_json either give a config or
 * fail with one line naming the key (never crash), for every model type (deepseek_v3, qwen2,
 * llama). An accepted config passes config_validate, survives config_to_json -> config_from_json
 * unchanged, and its derived quantities are finite and within the bounds. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "io/json.h"
#include "model/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Err e = {0};
    cJSON *j = json_parse_n((const char *)data, size, &e);
    if (!j) return 0;
    ModelConfig c;
    if (config_from_json(&c, j, "config.json", &e) != 0) {
        if (!e.msg[0] || strchr(e.msg, '\n') || strncmp(e.msg, "config.json", 11)) abort();
        cJSON_Delete(j);
        return 0;
    }
    cJSON_Delete(j);
    if (config_validate(&c, &e) != 0) abort();
    const int head = config_is_mla(&c) ? config_qk_head_dim(&c) : c.head_dim;
    if (!isfinite(config_softmax_scale(&c)) || head <= 0 || head > 2 * CONFIG_MAX_HEAD_DIM) abort();
    cJSON *back = config_to_json(&c);
    ModelConfig c2;
    if (config_from_json(&c2, back, "round trip", &e) != 0) abort();
    cJSON_Delete(back);
    if (memcmp(&c, &c2, sizeof c) != 0) abort();
    return 0;
}
