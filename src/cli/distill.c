/* r1 distill: SFT of a smaller dense student (qwen2 or llama, as R1-Distill; or deepseek_v3 without
 * routed experts) on a teacher's filtered samples, from random init or a base folder. The flags
 * and loop are r1 sft's (src/cli/sft.c, src/train/sft.h). */
#include "cli/commands.h"
#include "cli/sft_cli.h"

int cmd_distill(int argc, char **argv);

int cmd_distill(int argc, char **argv) { return sft_cli_run(argc, argv, 1); }
