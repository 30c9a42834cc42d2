/* r1 pretrain: train a base model from text (src/train/pretrain.h does the work). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "io/file.h"
#include "model/config.h"
#include "train/checkpoint.h"
#include "train/pretrain.h"
#include "train/pretrain_data.h"

int cmd_pretrain(int argc, char **argv);

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

#define MAX_FILES 256

int cmd_pretrain(int argc, char **argv) {
    PretrainOptions d = pretrain_defaults();
    const char *config = NULL, *tokenizer = NULL, *data = NULL, *out = NULL, *cache = NULL;
    const char *schedule = "cosine";
    long steps = 0, tokens = 0, batch = d.batch, seq_len = d.seq_len, grad_accum = d.grad_accum;
    long warmup = d.warmup, seed = (long)d.seed, eval_every = d.eval_every, eval_batches = d.eval_batches;
    long save_every = d.save_every, keep = d.keep, threads = 0, log_every = d.log_every;
    double lr = d.lr, min_lr_ratio = d.min_lr_ratio, decay_frac = d.decay_frac, wd = d.adamw.weight_decay;
    double beta1 = d.adamw.beta1, beta2 = d.adamw.beta2, eps = d.adamw.eps, clip = d.clip;
    double mtp_lambda = d.mtp_lambda, seq_aux = d.seq_aux_alpha, gamma = d.bias_update_speed;
    double val_frac = d.val_frac;
    int resume = 0, skip_bad = 0, skip_nonfinite = 0, decay_norms = 0, decay_embed = 0;
    const Flag flags[] = {
        {"config", FLAG_STRING, &config, "model config.json (not needed with --resume)"},
        {"tokenizer", FLAG_STRING, &tokenizer, "tokenizer.json"},
        {"data", FLAG_STRING, &data, "text or JSONL ({\"text\": ...}) files, comma-separated (also positional)"},
        {"out", FLAG_STRING, &out, "run folder: metrics.jsonl, checkpoints/, the final model"},
        {"cache", FLAG_STRING, &cache, "token cache file (default OUT/data/tokens.bin)"},
        {"steps", FLAG_INT, &steps, "optimizer steps (or --tokens)"},
        {"tokens", FLAG_INT, &tokens, "training tokens, when --steps is not given"},
        {"batch", FLAG_INT, &batch, "sequences per micro-batch"},
        {"seq-len", FLAG_INT, &seq_len, "tokens per sequence"},
        {"grad-accum", FLAG_INT, &grad_accum, "micro-batches per optimizer step"},
        {"lr", FLAG_DOUBLE, &lr, "peak learning rate"},
        {"schedule", FLAG_STRING, &schedule, "cosine | wsd | constant"},
        {"warmup", FLAG_INT, &warmup, "linear warm-up steps"},
        {"min-lr-ratio", FLAG_DOUBLE, &min_lr_ratio, "final lr as a fraction of --lr"},
        {"decay-frac", FLAG_DOUBLE, &decay_frac, "wsd: fraction of the steps spent decaying"},
        {"weight-decay", FLAG_DOUBLE, &wd, "AdamW decoupled weight decay"},
        {"beta1", FLAG_DOUBLE, &beta1, "AdamW beta1"},
        {"beta2", FLAG_DOUBLE, &beta2, "AdamW beta2"},
        {"eps", FLAG_DOUBLE, &eps, "AdamW epsilon"},
        {"decay-norms", FLAG_BOOL, &decay_norms, "also decay RMSNorm gains"},
        {"decay-embed", FLAG_BOOL, &decay_embed, "also decay the embedding"},
        {"clip", FLAG_DOUBLE, &clip, "max global gradient norm (0: off)"},
        {"seed", FLAG_INT, &seed, "seed of initialisation and data order"},
        {"mtp-lambda", FLAG_DOUBLE, &mtp_lambda, "weight of the multi-token-prediction loss"},
        {"seq-aux-alpha", FLAG_DOUBLE, &seq_aux, "weight of the sequence-wise balance loss (0: off)"},
        {"bias-update-speed", FLAG_DOUBLE, &gamma, "gamma of the auxiliary-loss-free balancing (0: off)"},
        {"val-frac", FLAG_DOUBLE, &val_frac, "held-out fraction of the sequences"},
        {"eval-every", FLAG_INT, &eval_every, "validation loss every N steps (0: at the end only)"},
        {"eval-batches", FLAG_INT, &eval_batches, "held-out batches per evaluation"},
        {"save-every", FLAG_INT, &save_every, "checkpoint every N steps (0: at the end and on SIGINT/SIGTERM)"},
        {"keep", FLAG_INT, &keep, "keep the last K checkpoints (0: all)"},
        {"log-every", FLAG_INT, &log_every, "progress line every N steps when not on a terminal"},
        {"threads", FLAG_INT, &threads, "threads (0: $R1_THREADS or all cores)"},
        {"resume", FLAG_BOOL, &resume, "continue the run in --out from its latest checkpoint"},
        {"skip-bad", FLAG_BOOL, &skip_bad, "skip (and count) JSONL lines that are not {\"text\": ...}"},
        {"skip-nonfinite", FLAG_BOOL, &skip_nonfinite, "skip steps with a NaN/Inf loss or gradient instead of stopping"},
    };
    const char *pos[MAX_FILES];
    int n_pos = 0;
    Err e = {{0}};
    int rc = flags_parse("usage: r1 pretrain --config CONFIG.json --tokenizer tokenizer.json --data FILES --out DIR\n"
                         "                   [--steps N | --tokens N] [--resume] [flags]\n"
                         "Trains a base model on text; DIR ends up holding it as a Hugging Face folder.",
                         flags, (int)(sizeof flags / sizeof *flags), argc, argv, pos, MAX_FILES, &n_pos, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!out) { err_set(&e, "--out: required"); return cli_fail(&e); }
    if (!tokenizer) { err_set(&e, "--tokenizer: required"); return cli_fail(&e); }

    /* data files: --data a,b,c and positionals */
    const char *files[MAX_FILES];
    int n_files = 0;
    char *data_copy = data ? xstrdup(data) : NULL;
    for (char *s = data_copy ? strtok(data_copy, ",") : NULL; s && n_files < MAX_FILES; s = strtok(NULL, ","))
        if (*s) files[n_files++] = s;
    for (int i = 0; i < n_pos && n_files < MAX_FILES; i++) files[n_files++] = pos[i];
    if (n_files == 0) { free(data_copy); err_set(&e, "--data: no files given"); return cli_fail(&e); }

    /* the config: --config, or the latest checkpoint's when resuming */
    char ckroot[4096], ckdir[4096], cfgbuf[4200];
    snprintf(ckroot, sizeof ckroot, "%s/checkpoints", out);
    if (!config && resume) {
        int64_t st;
        int have = checkpoint_latest(ckroot, ckdir, sizeof ckdir, &st, &e);
        if (have < 0) { free(data_copy); return cli_fail(&e); }
        if (!have) { free(data_copy); err_set(&e, "%s: --resume: no checkpoint to resume from", ckroot); return cli_fail(&e); }
        snprintf(cfgbuf, sizeof cfgbuf, "%s/config.json", ckdir);
        config = cfgbuf;
    }
    if (!config) { free(data_copy); err_set(&e, "--config: required"); return cli_fail(&e); }
    ModelConfig cfg;
    if (config_load(&cfg, config, &e) != 0) { free(data_copy); return cli_fail(&e); }
    if (!resume && seq_len > cfg.max_position_embeddings) {
        free(data_copy);
        err_set(&e, "--seq-len %ld: above the config's max_position_embeddings %d", seq_len, cfg.max_position_embeddings);
        return cli_fail(&e);
    }
    threads_set((int)threads);

    /* tokenize once (or reuse the cache) */
    char cache_buf[4300], data_dir[4200];
    if (!cache) {
        snprintf(data_dir, sizeof data_dir, "%s/data", out);
        if (file_mkdirs(data_dir, &e) != 0) { free(data_copy); return cli_fail(&e); }
        snprintf(cache_buf, sizeof cache_buf, "%s/tokens.bin", data_dir);
        cache = cache_buf;
    } else if (file_mkdirs(out, &e) != 0) { free(data_copy); return cli_fail(&e); }
    PretrainData pd;
    if (pretrain_prepare_data(&pd, tokenizer, files, n_files, cache, &cfg, skip_bad, out, &e) != 0) {
        free(data_copy);
        return cli_fail(&e);
    }
    free(data_copy);
    fprintf(stderr, "data: %llu tokens in %llu documents%s", (unsigned long long)pd.info.n_tokens,
            (unsigned long long)pd.info.n_docs, pd.info.rebuilt ? " (tokenized now)" : " (cached)");
    if (pd.info.n_bad) fprintf(stderr, ", %llu bad JSONL lines skipped", (unsigned long long)pd.info.n_bad);
    fputc('\n', stderr);

    PretrainOptions o = d;
    o.config_path = config;
    o.tokens_path = cache;
    for (int i = 0; i < pd.n_files; i++) o.tokenizer_dir_files[i] = pd.files[i];
    o.out_dir = out;
    o.steps = steps;
    o.tokens = tokens;
    o.batch = (int)batch;
    o.seq_len = (int)seq_len;
    o.grad_accum = (int)grad_accum;
    o.lr = lr;
    o.min_lr_ratio = min_lr_ratio;
    o.decay_frac = decay_frac;
    o.warmup = warmup;
    if (schedule_parse_kind(schedule, &o.schedule, &e) != 0) return cli_fail(&e);
    o.adamw = (AdamWConfig){.beta1 = beta1, .beta2 = beta2, .eps = eps, .weight_decay = wd,
                            .decay_norms = decay_norms, .decay_embed = decay_embed};
    o.clip = clip;
    o.mtp_lambda = mtp_lambda;
    o.seq_aux_alpha = seq_aux;
    o.bias_update_speed = gamma;
    o.seed = (uint64_t)seed;
    o.val_frac = val_frac;
    o.eval_every = eval_every;
    o.eval_batches = eval_batches;
    o.save_every = save_every;
    o.keep = (int)keep;
    o.log_every = log_every;
    o.skip_nonfinite = skip_nonfinite;
    o.resume = resume;
    o.stop = &stop_requested;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    PretrainResult res;
    rc = pretrain_run(&o, &res, &e);
    pretrain_data_free(&pd);
    if (rc != 0) return cli_fail(&e);
    if (res.interrupted)
        fprintf(stderr, "stopped at step %lld: checkpoint written; continue with --resume\n", (long long)res.steps_done);
    else
        fprintf(stderr, "done: %lld steps, loss %.4f, val loss %.4f, %.0f tokens/s%s; model in %s\n",
                (long long)res.steps_done, res.last_loss, res.val_loss, res.tokens_per_s,
                res.skipped ? " (some steps skipped: NaN/Inf)" : "", out);
    return 0;
}
