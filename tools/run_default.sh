#!/usr/bin/env bash
# What `make run` runs: the whole R1 recipe on the default preset, then points at the report.
set -eu
R1=${R1:-build/r1}
PRESET=${PRESET:-tiny}
echo "r1.c: running the DeepSeek-R1 pipeline (preset $PRESET) into runs/$PRESET; re-run to resume"
"$R1" pipeline --preset "$PRESET" --out "runs/$PRESET"
echo "r1.c: report: runs/$PRESET/report.html (and report.md)"
