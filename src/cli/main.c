/* r1: the command-line entry point. Dispatches to one function per subcommand. */
#include <stdio.h>
#include <string.h>

#include "base/blas_env.h"
#include "base/dist.h"
#include "base/error.h"
#include "cli/commands.h"

/* Subcommands, in the order `r1 --help` lists them. Each is defined in src/cli/<name>.c. */
#define COMMAND_LIST(X) \
    X(pretrain, "train a base model on text (checkpoints, resume, metrics.jsonl)") \
    X(init, "write a randomly initialised model as a Hugging Face folder") \
    X(logits, "write the logits of one forward pass over given tokens (f32 safetensors)") \
    X(export, "write a model folder as a llama.cpp GGUF file: r1 export gguf --model DIR --out F.gguf") \
    X(tokenizer, "train a byte-level BPE tokenizer, encode and decode text") \
    X(data, "write task corpora: r1 data make --task T --format pretrain|sft|rl|prefs") \
    X(generate, "generate text from a model folder (batched, sampled or greedy, speculative with MTP)") \
    X(chat, "interactive chat with a model folder (R1 template, streamed, reasoning dimmed)") \
    X(serve, "OpenAI-compatible HTTP server with reasoning_content, streaming, and a web chat") \
    X(score, "score completions in a JSONL file with rule rewards") \
    X(rm, "reward model: r1 rm train (Bradley-Terry / point-wise) and r1 rm score") \
    X(align, "alignment RL: GRPO on reasoning + general prompts, reward models switched on late") \
    X(pipeline, "the whole R1 recipe on a preset, with a report (make run runs it)") \
    X(sft, "supervised fine-tuning on chat records, loss on the assistant tokens only") \
    X(distill, "distillation: SFT of a smaller dense student on a teacher's samples") \
    X(eval, "pass@1 over k samples, cons@k, format, language, length per task and level") \
    X(sample, "rejection sampling: keep verified, filtered completions as SFT records") \
    X(grpo, "GRPO reinforcement learning with rule rewards (TRL-style flags)") \
    X(zero, "R1-Zero: GRPO from a base model with the paper's template, no SFT") \
    X(version, "print the version and build settings")

#define DECLARE(name, summary) int cmd_##name(int argc, char **argv);
COMMAND_LIST(DECLARE)
#undef DECLARE

static const Command commands[] = {
#define ENTRY(name, summary) {#name, cmd_##name, summary},
    COMMAND_LIST(ENTRY)
#undef ENTRY
};

/* The ranks of this process's job: one, unless started by mpirun (base/dist.h). */
static Dist world;

Dist *cli_world(void) { return &world; }

int cli_reports(void) { return world.rank == 0; }

int cli_fail(const Err *e) {
    /* an error the ranks agreed on is rank 0's to print; another rank's own error ends the job,
     * since the others may be waiting for it */
    if (world.size > 1 && world.agreed && world.rank != 0) return 1;
    char who[32] = "";
    if (world.size > 1 && !world.agreed && world.rank > 0) snprintf(who, sizeof who, "rank %d: ", world.rank);
    fprintf(stderr, "r1: error: %s%s\n", who, e->msg[0] ? e->msg : "failed");
    if (world.size > 1 && !world.agreed) dist_abort(&world, 1);
    return 1;
}

/* The commands that run data-parallel under mpirun (argv[1], and argv[2] for `rm train`). */
static int data_parallel(int argc, char **argv) {
    static const char *const names[] = {"pretrain", "sft", "distill", "grpo", "zero", "align"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(argv[1], names[i])) return 1;
    return !strcmp(argv[1], "rm") && argc > 2 && !strcmp(argv[2], "train");
}

static void usage(FILE *out) {
    fprintf(out, "r1.c: the DeepSeek-R1 system, end to end, in C.\n\nusage: r1 <command> [flags]   (r1 <command> --help for its flags)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

static int run_command(int argc, char **argv);

int main(int argc, char **argv) {
    blas_env_fix(argv);
    Err e = {{0}};
    if (dist_init(&world, &argc, &argv, &e) != 0) {
        cli_fail(&e);
        dist_finalize(&world);
        return 1;
    }
    if (world.rank > 0 && !freopen("/dev/null", "w", stdout)) return 1;
    /* the first collective: ranks of different builds must not go on to disagree in the dark */
    if (world.size > 1 && dist_check_same(&world, cli_version(), "the r1 version", &e) != 0) {
        cli_fail(&e);
        dist_finalize(&world);
        return 1;
    }
    if (world.size > 1 && argc >= 2 && !data_parallel(argc, argv)) {
        world.agreed = 1;
        err_set(&e, "r1 %s runs in one process: under mpirun, only pretrain, sft, distill, grpo, zero, align and "
                    "rm train run data-parallel", argv[1]);
        cli_fail(&e);
        dist_finalize(&world);
        return 1;
    }
    int rc = run_command(argc, argv);
    dist_finalize(&world);
    return rc;
}

static int run_command(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "r1: error: unknown command '%s' (see r1 --help)\n", argv[1]);
    return 2;
}
