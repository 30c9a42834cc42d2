/* `r1 pipeline`: the whole DeepSeek-R1 recipe at small scale, stage by stage (DESIGN.md §2):
 *
 *   data → tokenizer → pretrain BASE ─┬─ R1-Zero (GRPO, rule rewards, plain prompts)
 *                                     ├─ cold-start SFT ─ reasoning GRPO (+ a run without the
 *                                     │  language reward, for the ablation) = RL
 *                                     ├─ rejection sampling from RL + non-reasoning mix
 *                                     │  ─ SFT from BASE = RS-SFT ─ alignment GRPO with reward
 *                                     │  models (helpful, harmless) = R1
 *                                     └─ reward models trained from BASE on preference pairs
 *   R1's samples ─ distillation into a dense STUDENT; control: GRPO on the student's base with
 *   the same compute (tokens through forward+backward, counted by the run engine). Every
 *   checkpoint is evaluated; results.json (what a rerun reproduces bit for bit), timings.json
 *   (wall seconds per stage) and the report follow.
 *
 * Each stage runs the `r1` subcommand a user would run by hand (the log shows each command), in
 * its own process, writing into runs/NAME/<stage>/. A finished stage leaves
 * runs/NAME/.stages/<stage>.done (its wall seconds) and is skipped next time; an interrupted
 * stage is re-run with --resume where the command supports it, so a pipeline killed anywhere and
 * run again ends with the results.json of an uninterrupted run. A stage dies with the pipeline.
 * Earlier stages' outputs are never touched by a later stage.
 */
#ifndef R1_PIPELINE_PIPELINE_H
#define R1_PIPELINE_PIPELINE_H

#include "base/error.h"

typedef struct PipelineOptions {
    const char *preset;     /* nano | tiny | small */
    const char *out;        /* run folder (default runs/<preset>) */
    const char *r1;         /* the r1 binary to run stages with (default: this one) */
    int threads;            /* passed to every stage (0: all cores) */
    int ranks;              /* > 1: the training stages run under `mpirun -np ranks` */
    long seed;
    int dry_run;            /* print the commands, run nothing */
} PipelineOptions;

int pipeline_run(const PipelineOptions *o, Err *e);

#endif
