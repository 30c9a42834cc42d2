/* r1 init: a randomly initialised DeepSeek-V3 model, saved as a Hugging Face folder
 * (config.json, model.safetensors, generation_config.json; model/model_io.h). Initialisation is
 * param_init: normal(0, initializer_range) for matrices and the embedding, 1 for norms, 0 for
 * the router bias, deterministic per (seed, tensor name). */
#include <stdio.h>

#include "base/error.h"
#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "model/model.h"
#include "model/model_io.h"

int cmd_init(int argc, char **argv);

int cmd_init(int argc, char **argv) {
    const char *config = NULL, *out = NULL;
    long seed = 0, threads = 0;
    const Flag flags[] = {
        {"config", FLAG_STRING, &config, "config.json of the model (DeepSeek-V3 keys; torch_dtype bfloat16 saves BF16)"},
        {"seed", FLAG_INT, &seed, "initialisation seed"},
        {"out", FLAG_STRING, &out, "model folder to write (replaced as a whole if it exists)"},
        {"threads", FLAG_INT, &threads, "threads (0: $R1_THREADS or all cores; the result is the same)"},
    };
    Err e = {0};
    int rc = flags_parse("usage: r1 init --config CONFIG.json --seed N --out DIR", flags,
                         sizeof flags / sizeof flags[0], argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!config || !out) { err_set(&e, "init: --config and --out are required"); return cli_fail(&e); }
    if (seed < 0) { err_set(&e, "init: --seed must be >= 0"); return cli_fail(&e); }
    threads_set((int)threads);
    ModelConfig cfg;
    if (config_load(&cfg, config, &e)) return cli_fail(&e);
    Model m;
    model_init(&m, &cfg);
    param_init(&m.table, &m.cfg, m.params, (uint64_t)seed);
    rc = model_save_dir(&m, out, &e);
    size_t count = m.table.count;
    model_free(&m);
    if (rc) return cli_fail(&e);
    printf("wrote %s: %zu parameters (%s), seed %ld\n", out, count, cfg.torch_dtype, seed);
    return 0;
}
