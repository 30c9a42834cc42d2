/* r1 logits: one forward pass of a model folder over a token list; writes the main logits as the
 * f32 tensor "logits" [T, vocab_size] of a safetensors file. Used by tests and users to compare
 * r1.c with other implementations on any model folder (F32, BF16, F16, FP8; MTP or not). With the
 * weights in f32 it is the training forward; with weights kept as stored (--weights auto on a
 * low-precision folder, or bf16) it is the decode engine's prefill, the only code that reads
 * them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "infer/decode.h"
#include "model/model_io.h"
#include "model/model_lowp.h"

int cmd_logits(int argc, char **argv);

/* "1,2,3" -> ids (caller frees); each id checked against the vocabulary. */
static int parse_tokens(const char *s, int vocab, int **out, int *n_out, Err *e) {
    int cap = 16, n = 0;
    int *v = xmalloc((size_t)cap * sizeof *v);
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || (*end && *end != ',')) {
            free(v);
            return err_set(e, "logits: --tokens: expected comma-separated integers, got '%.40s'", p);
        }
        if (x < 0 || x >= vocab) {
            free(v);
            return err_set(e, "logits: --tokens: id %ld is outside the vocabulary (vocab_size %d)", x, vocab);
        }
        if (n == cap) v = xrealloc(v, (size_t)(cap *= 2) * sizeof *v);
        v[n++] = (int)x;
        if (!*end) break;
        p = end + 1;
    }
    *out = v;
    *n_out = n;
    return 0;
}

int cmd_logits(int argc, char **argv) {
    const char *dir = NULL, *tokens = NULL, *out = NULL, *weights = "auto";
    long threads = 0;
    const Flag flags[] = {
        {"model", FLAG_STRING, &dir, "model folder (config.json + model.safetensors or shards)"},
        {"tokens", FLAG_STRING, &tokens, "input token ids, comma-separated: 1,2,3"},
        {"out", FLAG_STRING, &out, "safetensors file to write with the f32 tensor 'logits' [T, vocab_size]"},
        {"weights", FLAG_STRING, &weights, FLAG_WEIGHTS_HELP},
        {"threads", FLAG_INT, &threads, "threads (0: $R1_THREADS or all cores)"},
    };
    Err e = {0};
    int rc = flags_parse("usage: r1 logits --model DIR --tokens 1,2,3 --out FILE.safetensors", flags,
                         sizeof flags / sizeof flags[0], argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!dir || !tokens || !out) { err_set(&e, "logits: --model, --tokens and --out are required"); return cli_fail(&e); }
    WeightMode wmode;
    if (flags_weights(weights, &wmode, &e)) return cli_fail(&e);
    threads_set((int)threads);
    Model m;
    if (model_load_dir_as(&m, dir, wmode, &e)) return cli_fail(&e);
    int *ids = NULL, T = 0;
    if (parse_tokens(tokens, m.cfg.vocab_size, &ids, &T, &e)) { model_free(&m); return cli_fail(&e); }
    if (T > m.cfg.max_position_embeddings) {
        err_set(&e, "logits: %d tokens exceed max_position_embeddings = %d", T, m.cfg.max_position_embeddings);
        free(ids);
        model_free(&m);
        return cli_fail(&e);
    }
    StWriteTensor t = {"logits", ST_F32, 2, {T, m.cfg.vocab_size}, NULL, REAL_IS_DOUBLE ? ST_F64 : ST_F32};
    if (!m.packs) {
        ModelActs a;
        model_acts_init(&a, &m, 1, T);
        ModelOptions opt = {0};
        model_forward(&m, &a, ids, NULL, 1, T, &opt);
        t.data = a.logits;
        rc = st_write(out, &t, 1, &e);
        model_acts_free(&a);
    } else {
        Engine g;
        int *slot = xcalloc((size_t)T, sizeof *slot);
        engine_init(&g, &m, 1, T, T, 0);
        engine_forward(&g, ids, slot, T, NULL);
        t.data = g.logits;
        rc = st_write(out, &t, 1, &e);
        engine_free(&g);
        free(slot);
    }
    free(ids);
    model_free(&m);
    if (rc) return cli_fail(&e);
    return 0;
}
