#!/usr/bin/env bash
# What `make run` runs: the most complete thing r1.c can do today. It says what it ran.
set -eu
R1=${R1:-build/r1}
out=${OUT:-runs/default}
mkdir -p "$out"
echo "r1.c: the pipeline is not built yet; running the model commands that exist."
"$R1" version
