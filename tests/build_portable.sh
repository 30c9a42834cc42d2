#!/usr/bin/env bash
# Every source compiles without a warning for the CPUs this machine is not: the kernels choose
# their bodies at compile time (AVX-512 with or without AVX512-BF16, AVX2 + FMA),
# and a body this machine does not build is otherwise first compiled by someone else's `make`.
# Each configuration is compiled by gcc -O2 -Werror (to /dev/null) and the Makefile's warnings, both
# for libr1 (float) and for the double-precision build of src/kernels and src/model (-DR1_DOUBLE).
# Prints PASS/FAIL lines for tests/run.sh.
set -u
cd "$(dirname "$0")/.."
flags=$(make -s --no-print-directory print-cflags CI=true 2>/dev/null)
if [ -z "$flags" ]; then echo "FAIL build_portable: make print-cflags gave nothing"; exit 1; fi
lib=$(find src -name '*.c' | sort)
dbl=$(find src/kernels src/model -name '*.c' | sort)
failed=0
for march in x86-64-v3 skylake-avx512 sapphirerapids; do
  for prec in float double; do
    if [ $prec = double ]; then files=$dbl; def=-DR1_DOUBLE; else files=$lib; def=; fi
    log=$(mktemp)
    # two compilers at a time; -O2 so that the checks that need optimisation (format truncation) run too
    printf '%s\n' $files | xargs -P 2 -I{} gcc $flags -march=$march $def -O2 -c {} -o /dev/null > "$log" 2>&1
    if [ -s "$log" ]; then
      echo "FAIL build_portable_${march}_$prec: $(grep -m1 -E 'error|warning' "$log")"
      failed=1
    else
      echo "PASS build_portable_${march}_$prec"
    fi
    rm -f "$log"
  done
done
exit $failed
