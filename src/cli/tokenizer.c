/* r1 tokenizer train|encode|decode: train a byte-level BPE tokenizer, or run one over text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/train.h"

int cmd_tokenizer(int argc, char **argv);

static char *read_stdin(size_t *n) {
    StrBuf b = {0};
    char buf[1 << 16];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, stdin)) > 0) sb_append_n(&b, buf, k);
    if (!b.s) sb_append_n(&b, "", 0);
    *n = b.len;
    return sb_take(&b);
}

static int do_train(int argc, char **argv) {
    const char *data = NULL, *out = "tokenizer.json";
    long vocab = 4096, minf = 2, threads = 0;
    int quiet = 0, by_line = 0;
    const Flag flags[] = {
        {"data", FLAG_STRING, &data, "training text file (more files may follow as arguments)"},
        {"vocab-size", FLAG_INT, &vocab, "vocabulary size, special tokens and the 256 bytes included"},
        {"out", FLAG_STRING, &out, "tokenizer.json to write (tokenizer_config.json goes beside it)"},
        {"min-frequency", FLAG_INT, &minf, "a pair must occur this often to be merged"},
        {"threads", FLAG_INT, &threads, "threads for counting words (0 = all cores; the result is the same)"},
        {"by-line", FLAG_BOOL, &by_line, "pre-tokenize line by line (as HF's train(files)); default: whole documents"},
        {"quiet", FLAG_BOOL, &quiet, "no progress on stderr"},
    };
    const char *pos[256];
    int npos = 0;
    Err e = {0};
    int rc = flags_parse("usage: r1 tokenizer train --data FILE [FILE...] --vocab-size N --out tokenizer.json",
                         flags, sizeof flags / sizeof flags[0], argc, argv, pos, 255, &npos, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    const char *files[257];
    int nf = 0;
    if (data) files[nf++] = data;
    for (int i = 0; i < npos; i++) files[nf++] = pos[i];
    if (nf == 0) { err_set(&e, "--data: no training file given"); return cli_fail(&e); }
    if (vocab <= 0 || vocab > 0x7fffffff) { err_set(&e, "--vocab-size: must be positive"); return cli_fail(&e); }
    if (minf < 1) { err_set(&e, "--min-frequency: must be >= 1"); return cli_fail(&e); }
    TrainOpts o = {.files = files, .n_files = nf, .vocab_size = (uint32_t)vocab, .min_frequency = (uint64_t)minf,
                   .threads = (int)threads, .by_line = by_line, .verbose = !quiet};
    TrainStats st;
    if (tokenizer_train(&o, out, &st, &e)) return cli_fail(&e);
    if (!quiet)
        fprintf(stderr, "wrote %s: vocab %u (%u merges); %.1f MB counted in %.1f s, merged in %.1f s\n", out,
                st.vocab_size, st.merges, (double)st.bytes / 1e6, st.count_seconds, st.merge_seconds);
    return 0;
}

static int do_encode(int argc, char **argv) {
    const char *path = NULL, *text = NULL;
    int bos = 0;
    const Flag flags[] = {
        {"tokenizer", FLAG_STRING, &path, "tokenizer.json (required)"},
        {"text", FLAG_STRING, &text, "text to encode (default: all of standard input, as one text)"},
        {"bos", FLAG_BOOL, &bos, "prepend the BOS id"},
    };
    Err e = {0};
    int rc = flags_parse("usage: r1 tokenizer encode --tokenizer FILE [--text T] [--bos]   (prints ids)", flags,
                         sizeof flags / sizeof flags[0], argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!path) { err_set(&e, "--tokenizer: required"); return cli_fail(&e); }
    Tokenizer *tok = tokenizer_load(path, &e);
    if (!tok) return cli_fail(&e);
    size_t n;
    char *buf = text ? xstrdup(text) : read_stdin(&n);
    if (text) n = strlen(text);
    TokIds ids = {0};
    if (bos) {
        if (tokenizer_bos_id(tok) < 0) { err_set(&e, "%s: --bos: the tokenizer has no BOS token", path); goto fail; }
        tokids_push(&ids, (uint32_t)tokenizer_bos_id(tok));
    }
    if (tokenizer_encode(tok, buf, n, &ids, &e)) { err_prefix(&e, "encode"); goto fail; }
    for (size_t i = 0; i < ids.n; i++) printf(i ? " %u" : "%u", ids.v[i]);
    printf("\n");
    free(buf);
    tokids_free(&ids);
    tokenizer_free(tok);
    return 0;
fail:
    free(buf);
    tokids_free(&ids);
    tokenizer_free(tok);
    return cli_fail(&e);
}

static int do_decode(int argc, char **argv) {
    const char *path = NULL, *idtext = NULL;
    int skip = 0;
    const Flag flags[] = {
        {"tokenizer", FLAG_STRING, &path, "tokenizer.json (required)"},
        {"ids", FLAG_STRING, &idtext, "ids separated by spaces or commas (default: standard input)"},
        {"skip-special", FLAG_BOOL, &skip, "drop special tokens (BOS, EOS, pad; not the role or think tokens)"},
    };
    Err e = {0};
    int rc = flags_parse("usage: r1 tokenizer decode --tokenizer FILE [--ids \"1 2 3\"]   (prints the text)", flags,
                         sizeof flags / sizeof flags[0], argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!path) { err_set(&e, "--tokenizer: required"); return cli_fail(&e); }
    size_t n;
    char *buf = idtext ? xstrdup(idtext) : read_stdin(&n);
    TokIds ids = {0};
    Tokenizer *tok = NULL;
    StrBuf out = {0};
    for (char *p = buf;;) {
        while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t' || *p == '\r' || *p == '[' || *p == ']') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || errno || v > 0xffffffffULL || *p == '-') {
            err_set(&e, "ids: '%.20s' is not a token id", p);
            goto fail;
        }
        tokids_push(&ids, (uint32_t)v);
        p = end;
    }
    if (!(tok = tokenizer_load(path, &e))) goto fail;
    if (tokenizer_decode(tok, ids.v, ids.n, skip, &out, &e)) { err_prefix(&e, "decode"); goto fail; }
    fwrite(out.s, 1, out.len, stdout);
    sb_free(&out);
    free(buf);
    tokids_free(&ids);
    tokenizer_free(tok);
    return 0;
fail:
    sb_free(&out);
    free(buf);
    tokids_free(&ids);
    tokenizer_free(tok);
    return cli_fail(&e);
}

int cmd_tokenizer(int argc, char **argv) {
    const char *sub = argc >= 2 ? argv[1] : NULL;
    if (sub && !strcmp(sub, "train")) return do_train(argc - 1, argv + 1);
    if (sub && !strcmp(sub, "encode")) return do_encode(argc - 1, argv + 1);
    if (sub && !strcmp(sub, "decode")) return do_decode(argc - 1, argv + 1);
    FILE *f = sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h")) ? stdout : stderr;
    fprintf(f, "usage: r1 tokenizer train|encode|decode [flags]   (r1 tokenizer <sub> --help)\n"
               "  train    train a byte-level BPE tokenizer (R1 special tokens included)\n"
               "  encode   print the ids of a text\n"
               "  decode   print the text of ids\n");
    if (f == stdout) return 0;
    if (sub) fprintf(stderr, "r1: error: tokenizer: unknown subcommand '%s'\n", sub);
    return 2;
}
