/* Shared flag parsing of `r1 sft` and `r1 distill` (src/cli/sft.c). */
#ifndef R1_CLI_SFT_CLI_H
#define R1_CLI_SFT_CLI_H
/* distill = 1: --student-config/--tokenizer/--init instead of --model, dense student required. */
int sft_cli_run(int argc, char **argv, int distill);
#endif
