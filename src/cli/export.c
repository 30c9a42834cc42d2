/* r1 export gguf: a model folder as one llama.cpp GGUF file (model/gguf_model.h for the tensors
 * and metadata, tokenizer/gguf_vocab.h for the vocabulary). The file is written to a temporary
 * name, fsync'ed and renamed. Any command that takes --model also reads a .gguf file back. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "io/file.h"
#include "io/gguf.h"
#include "model/gguf_model.h"
#include "model/model_io.h"
#include "tokenizer/gguf_vocab.h"

int cmd_export(int argc, char **argv);

static int parse_type(const char *s, GgmlType *t, Err *e) {
    if (!strcmp(s, "f32")) *t = GGML_TYPE_F32;
    else if (!strcmp(s, "f16")) *t = GGML_TYPE_F16;
    else if (!strcmp(s, "bf16")) *t = GGML_TYPE_BF16;
    else if (!strcmp(s, "q8_0")) *t = GGML_TYPE_Q8_0;
    else return err_set(e, "export: --type: '%.20s' is not one of f32, f16, bf16, q8_0", s);
    return 0;
}

/* The folder's last path component, for general.name. */
static void base_name(const char *dir, char *out, size_t cap) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/') b--;
    snprintf(out, cap, "%.*s", (int)(n - b), dir + b);
}

int cmd_export(int argc, char **argv) {
    const char *dir = NULL, *out = NULL, *type_s = "f32";
    long threads = 0;
    const Flag flags[] = {
        {"model", FLAG_STRING, &dir, "model folder (config.json + safetensors; tokenizer.json if present)"},
        {"out", FLAG_STRING, &out, "GGUF file to write"},
        {"type", FLAG_STRING, &type_s, "weight type: f32, f16, bf16 or q8_0 (norms, biases and the router stay f32)"},
        {"threads", FLAG_INT, &threads, "threads (0: $R1_THREADS or all cores)"},
    };
    const char *pos[2];
    int npos = 0;
    Err e = {0};
    int rc = flags_parse("usage: r1 export gguf --model DIR --out FILE.gguf [--type f32|f16|bf16|q8_0]", flags,
                         sizeof flags / sizeof flags[0], argc, argv, pos, 2, &npos, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (npos != 1 || strcmp(pos[0], "gguf")) { err_set(&e, "export: expected the format 'gguf' (r1 export gguf --model DIR --out FILE.gguf)"); return cli_fail(&e); }
    if (!dir || !out) { err_set(&e, "export: --model and --out are required"); return cli_fail(&e); }
    GgmlType type = GGML_TYPE_F32;
    if (parse_type(type_s, &type, &e)) return cli_fail(&e);
    threads_set((int)threads);
    Model m;
    if (model_load_dir(&m, dir, &e)) return cli_fail(&e);
    GgufWriter w;
    gguf_writer_init(&w);
    char name[256], tok[4096];
    base_name(dir, name, sizeof name);
    rc = gguf_model_add(&w, &m, type, name, &e);
    snprintf(tok, sizeof tok, "%s/tokenizer.json", dir);
    struct stat sb;
    if (rc == 0 && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) && file_exists(tok)) {
        rc = gguf_vocab_add(&w, tok, (uint32_t)m.cfg.vocab_size, &e);
    } else if (rc == 0) {
        fprintf(stderr, "r1: note: %s has no tokenizer.json; writing a placeholder byte-level vocabulary of %d tokens\n", dir, m.cfg.vocab_size);
        gguf_vocab_add_placeholder(&w, (uint32_t)m.cfg.vocab_size, m.cfg.bos_token_id, m.cfg.eos_token_id);
    }
    if (rc == 0) rc = gguf_writer_write(&w, out, &e);
    int n_tensors = w.n_tensors;
    const char *arch = gguf_model_arch_name(&m.cfg);   /* a string literal */
    gguf_writer_free(&w);
    model_free(&m);
    if (rc) return cli_fail(&e);
    printf("wrote %s: %s, %d tensors, %s weights\n", out, arch, n_tensors, type_s);
    return 0;
}
