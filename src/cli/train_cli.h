/* What every training command's CLI shares: its flags from the trainer's option table, and on
 * --resume the options the command line did not give taken from the run's latest checkpoint
 * (so `r1 pretrain --out DIR --resume` continues the run as it was started); SIGINT/SIGTERM ask
 * the run to checkpoint and stop. */
#ifndef R1_CLI_TRAIN_CLI_H
#define R1_CLI_TRAIN_CLI_H

#include <cJSON.h>

#include "cli/flags.h"
#include "train/run.h"

/* Parses argv into opts (the struct `set` describes, whose engine options are *run). Returns 0,
 * 1 when --help was printed, -1 with an Err. *saved keeps the checkpoint's options the filled-in
 * strings point into: free it with cJSON_Delete after the run. */
int train_cli_parse(const char *usage, const OptSet *set, void *opts, RunOptions *run, const Flag *extra,
                    int n_extra, int argc, char **argv, const char **positional, int max_positional,
                    int *n_positional, cJSON **saved, Err *e);

#endif
