#!/usr/bin/env bash
# Full and read-only disks. Each case mounts a small tmpfs under the output path inside a private
# mount namespace (unshare -m: the mounts vanish with it), so that a write hits ENOSPC:
#   checkpoint   pretrain whose second checkpoint does not fit
#   metrics      pretrain whose metrics.jsonl does not fit (checkpoints on a mount of their own)
#   sample       r1 sample's output
#   pipeline     the nano pipeline in a folder too small for it
# and expects one error line naming the path and the full disk, a non-zero exit, the previous
# checkpoint intact, no temporary file left, and — after the mount is grown — a rerun (--resume for
# a trainer) that ends with the bytes of a run on a roomy disk (metrics.jsonl less its timing
# fields; for the pipeline, results.json). A read-only mount and a missing or impossible output
# folder get a one-line error from every writing command. Needs root and mount in a namespace
# (CI runs as root); otherwise one SKIP line. Prints PASS/FAIL lines for tests/run.sh.
set -u
R1=${R1:-build/r1}
R1=$(cd "$(dirname "$R1")" && pwd)/$(basename "$R1")
if [ "$(id -u)" != 0 ]; then echo "SKIP disk_full: not root: mounting a small tmpfs needs root (CI runs as root)"; exit 0; fi
w=$(mktemp -d /tmp/r1_disk_XXXXXX)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/probe"
if ! why=$(unshare -m sh -c "mount -t tmpfs -o size=64k tmpfs '$w/probe'" 2>&1); then
  echo "SKIP disk_full: cannot mount a tmpfs in a private mount namespace: $why"; exit 0
fi
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }
# one line on stderr, an r1 error naming $2 and saying $3
one_line() { [ "$(wc -l < "$1")" -eq 1 ] && grep -q "^r1: error: .*$2.*$3" "$1"; }
strip_times() { sed -E 's/, "[a-z_]*_s": [-0-9.e+]+//g' "$1"; }
same_metrics() { [ "$(strip_times "$1")" = "$(strip_times "$2")" ] && [ -s "$1" ]; }
leftovers() { find "$1" \( -name '*.tmp' -o -name '.tmp-*' \) 2>/dev/null; }

# ---- inputs: a corpus, a tokenizer, a small DeepSeek-V3 config, a random model ----
"$R1" data make --task=arith,copy --level=1 --n=400 --format=pretrain --seed=1 --out="$w/pt.jsonl" \
  --text-out="$w/pt.txt" > "$w/setup.log" 2>&1 &&
"$R1" tokenizer train --data="$w/pt.txt" --vocab-size=320 --out="$w/tok/tokenizer.json" --quiet >> "$w/setup.log" 2>&1 &&
sed -e 's/"vocab_size": 64/"vocab_size": 320/' -e 's/"max_position_embeddings": 64/"max_position_embeddings": 256/' \
  tests/fixtures/model/c_yarn_mtp/config.json > "$w/cfg.json" &&
"$R1" init --config "$w/cfg.json" --seed 1 --out "$w/m" >> "$w/setup.log" 2>&1 && cp "$w"/tok/* "$w/m/" ||
  { echo "FAIL disk_full_setup: $(tail -3 "$w/setup.log")"; exit 1; }
pretrain() {   # pretrain OUT STEPS SAVE_EVERY [more flags]
  local out=$1 steps=$2 every=$3; shift 3
  "$R1" pretrain --config="$w/cfg.json" --tokenizer="$w/tok/tokenizer.json" --data="$w/pt.jsonl" \
    --cache="$w/tokens.bin" --steps="$steps" --batch=4 --seq-len=64 --save-every="$every" --keep=0 \
    --eval-every=0 --seed=1 --threads=2 --quiet --out="$out" "$@"
}
export -f pretrain; export R1 w

# ---- a checkpoint that does not fit ----
pretrain "$w/ref_a" 8 2 2> "$w/ref_a.err" || fail disk_full_checkpoint "reference run: $(cat "$w/ref_a.err")"
ck=$(du -sb "$w/ref_a/checkpoints/step-2" | cut -f1)
unshare -m bash -c '
  mkdir -p "$w/a" && mount -t tmpfs -o size='$((ck * 3 / 2 + 65536))' tmpfs "$w/a" || exit 9
  pretrain "$w/a/run" 8 2 2> "$w/a.err"; echo $? > "$w/a.rc"
  ls -A "$w/a/run/checkpoints" > "$w/a.ls"
  find "$w/a" \( -name "*.tmp" -o -name ".tmp-*" \) > "$w/a.left"
  mount -o remount,size=64m "$w/a"
  pretrain "$w/a/run" 8 2 --resume 2> "$w/a2.err"; echo $? > "$w/a2.rc"
  cp -r "$w/a/run" "$w/a_final"'
if [ "$(cat "$w/a.rc" 2>/dev/null)" = 0 ]; then fail disk_full_checkpoint "the run did not fail (tmpfs too large?)"
elif ! one_line "$w/a.err" "$w/a/run/checkpoints" "No space left on device"; then fail disk_full_checkpoint "message: $(cat "$w/a.err")"
elif [ "$(tr '\n' ' ' < "$w/a.ls")" != "step-2 " ]; then fail disk_full_checkpoint "checkpoints left: $(cat "$w/a.ls")"
elif [ -s "$w/a.left" ]; then fail disk_full_checkpoint "temporary files left: $(cat "$w/a.left")"
elif [ "$(cat "$w/a2.rc")" != 0 ]; then fail disk_full_checkpoint "resume failed: $(cat "$w/a2.err")"
elif ! cmp -s "$w/ref_a/model.safetensors" "$w/a_final/model.safetensors" ||
     ! cmp -s "$w/ref_a/checkpoints/step-8/trainer_state/optimizer.safetensors" \
              "$w/a_final/checkpoints/step-8/trainer_state/optimizer.safetensors"; then
  fail disk_full_checkpoint "the resumed run's weights or moments differ from the reference"
elif ! same_metrics "$w/ref_a/metrics.jsonl" "$w/a_final/metrics.jsonl"; then fail disk_full_checkpoint "metrics differ"
else pass disk_full_checkpoint; fi

# ---- metrics.jsonl that does not fit (the checkpoints have room) ----
pretrain "$w/ref_b" 40 5 2> "$w/ref_b.err" || fail disk_full_metrics "reference run: $(cat "$w/ref_b.err")"
unshare -m bash -c '
  mkdir -p "$w/b" && mount -t tmpfs -o size=4k tmpfs "$w/b" || exit 9
  mkdir -p "$w/b/run/checkpoints" && mount -t tmpfs -o size=64m tmpfs "$w/b/run/checkpoints" || exit 9
  pretrain "$w/b/run" 40 5 2> "$w/b.err"; echo $? > "$w/b.rc"
  find "$w/b" \( -name "*.tmp" -o -name ".tmp-*" \) > "$w/b.left"
  ls "$w/b/run/checkpoints" > "$w/b.ls"
  mount -o remount,size=64m "$w/b"
  pretrain "$w/b/run" 40 5 --resume 2> "$w/b2.err"; echo $? > "$w/b2.rc"
  cp -r "$w/b/run" "$w/b_final"'
if [ "$(cat "$w/b.rc" 2>/dev/null)" = 0 ]; then fail disk_full_metrics "the run did not fail"
elif ! one_line "$w/b.err" "$w/b/run/metrics.jsonl" "No space left on device"; then fail disk_full_metrics "message: $(cat "$w/b.err")"
elif [ ! -s "$w/b.ls" ] || [ -s "$w/b.left" ]; then fail disk_full_metrics "checkpoints: $(cat "$w/b.ls"); left: $(cat "$w/b.left")"
elif [ "$(cat "$w/b2.rc")" != 0 ]; then fail disk_full_metrics "resume failed: $(cat "$w/b2.err")"
elif ! cmp -s "$w/ref_b/model.safetensors" "$w/b_final/model.safetensors"; then fail disk_full_metrics "weights differ"
elif ! same_metrics "$w/ref_b/metrics.jsonl" "$w/b_final/metrics.jsonl"; then fail disk_full_metrics "metrics differ after the resume"
else pass disk_full_metrics; fi

# ---- r1 sample's output ----
sample() { "$R1" sample --model="$w/m" --task=arith --level=1 --n=200 -n 2 --max-tokens=16 --mix-non-reasoning=0.9 \
             --seed=3 --threads=2 --out="$1"; }
export -f sample
sample "$w/ref_c.jsonl" 2> "$w/ref_c.err" || fail disk_full_sample "reference run: $(cat "$w/ref_c.err")"
unshare -m bash -c '
  mkdir -p "$w/c" && mount -t tmpfs -o size=4k tmpfs "$w/c" || exit 9
  sample "$w/c/s.jsonl" 2> "$w/c.err"; echo $? > "$w/c.rc"
  ls -A "$w/c" > "$w/c.ls"
  mount -o remount,size=1m "$w/c"
  sample "$w/c/s.jsonl" 2> "$w/c2.err"; echo $? > "$w/c2.rc"
  cp "$w/c/s.jsonl" "$w/c_final.jsonl"'
if [ "$(stat -c %s "$w/ref_c.jsonl")" -lt 8192 ]; then fail disk_full_sample "the output is too small to fill 4 KiB"
elif [ "$(cat "$w/c.rc" 2>/dev/null)" = 0 ]; then fail disk_full_sample "the run did not fail"
elif ! grep -q "^r1: error: $w/c/s.jsonl: write failed: No space left on device" "$w/c.err" ||
     [ "$(grep -c '^r1: error' "$w/c.err")" -ne 1 ]; then fail disk_full_sample "message: $(cat "$w/c.err")"
elif [ -s "$w/c.ls" ]; then fail disk_full_sample "files left: $(cat "$w/c.ls")"
elif [ "$(cat "$w/c2.rc")" != 0 ] || ! cmp -s "$w/ref_c.jsonl" "$w/c_final.jsonl"; then fail disk_full_sample "the rerun differs"
else pass disk_full_sample; fi

# ---- the pipeline's stage outputs ----
"$R1" pipeline --preset=nano --out="$w/ref_d" --threads=2 > "$w/ref_d.log" 2>&1 || fail disk_full_pipeline "reference run failed"
unshare -m bash -c '
  mkdir -p "$w/d" && mount -t tmpfs -o size=6m tmpfs "$w/d" || exit 9
  "$R1" pipeline --preset=nano --out="$w/d/run" --threads=2 > "$w/d.log" 2>&1; echo $? > "$w/d.rc"
  find "$w/d" \( -name "*.tmp" -o -name ".tmp-*" \) > "$w/d.left"
  mount -o remount,size=64m "$w/d"
  "$R1" pipeline --preset=nano --out="$w/d/run" --threads=2 > "$w/d2.log" 2>&1; echo $? > "$w/d2.rc"
  cp "$w/d/run/results.json" "$w/d_results.json"'
if [ "$(cat "$w/d.rc" 2>/dev/null)" = 0 ]; then fail disk_full_pipeline "the pipeline did not fail"
elif ! grep -q "^r1: error: .*$w/d/run/.*No space left on device" "$w/d.log" ||
     ! grep -q "^r1: error: stage .* failed" "$w/d.log"; then fail disk_full_pipeline "messages: $(grep 'r1: error' "$w/d.log")"
elif [ -s "$w/d.left" ]; then fail disk_full_pipeline "temporary files left: $(cat "$w/d.left")"
elif [ "$(cat "$w/d2.rc")" != 0 ]; then fail disk_full_pipeline "the rerun failed: $(tail -3 "$w/d2.log")"
elif ! cmp -s "$w/ref_d/results.json" "$w/d_results.json"; then fail disk_full_pipeline "results.json differs from the reference"
else pass disk_full_pipeline; fi

# ---- read-only, missing and impossible output folders: one clear line each ----
touch "$w/afile"
unshare -m bash -c '
  mkdir -p "$w/e" && mount -t tmpfs -o ro tmpfs "$w/e" || exit 9
  k=0
  for cmd in "pretrain $w/e/run 2 1" \
             "\"$R1\" sft --model=$w/m --task=arith --n=16 --steps=1 --seq-len=64 --out=$w/e/run" \
             "\"$R1\" grpo --model=$w/m --task=arith --steps=1 --prompt-format=plain --max-completion-length=16 --out=$w/e/run" \
             "\"$R1\" rm train --model=$w/m --builtin=helpful --n=8 --epochs=1 --out=$w/e/run" \
             "sample $w/e/s.jsonl" \
             "\"$R1\" data make --task=arith --n=4 --out=$w/e/x.jsonl" \
             "\"$R1\" pipeline --preset=nano --out=$w/e/p" \
             "sample $w/missing/s.jsonl" \
             "pretrain $w/afile/run 2 1"; do
    k=$((k + 1))
    eval "$cmd" > "$w/e$k.err" 2>&1; echo "$? $cmd" > "$w/e$k.rc"
  done'
for k in 1 2 3 4 5 6 7 8 9; do
  read -r rc cmd < "$w/e$k.rc"
  case $k in 8) want="$w/missing/s.jsonl.*No such file or directory" ;; 9) want="$w/afile.*Not a directory" ;;
              *) want="$w/e.*Read-only file system" ;; esac
  if [ "$rc" = 0 ] || [ "$(wc -l < "$w/e$k.err")" -ne 1 ] || ! grep -q "^r1: error: .*$want" "$w/e$k.err"; then
    fail disk_full_readonly "$cmd: exit $rc: $(cat "$w/e$k.err")"
  fi
done
[ "$failed" = 0 ] && pass disk_full_readonly_and_missing
exit $failed
