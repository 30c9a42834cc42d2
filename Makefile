# r1.c — build, test, bench. `make help` lists the targets.
#
# Sources are found by wildcard: a new src/**/*.c joins libr1, a new tests/test_*.c becomes a test
# binary, a new fuzz/fuzz_*.c a fuzz target, a new bench/bench_*.c a benchmark.

CC      ?= gcc
BUILD   ?= build
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

BLAS_INC := /usr/include/x86_64-linux-gnu/openblas-openmp
BLAS_LIB := /usr/lib/x86_64-linux-gnu/openblas-openmp
# Open MPI (libopenmpi-dev): its wrapper compiler names the include and library flags
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
           -Wformat=2 -Wno-unused-parameter -Werror=implicit-function-declaration
ifeq ($(CI),true)
WARN    += -Werror
endif
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -g
CPPFLAGS := -Isrc -Itests -I/usr/include/cjson -I$(BLAS_INC) $(MPI_CFLAGS) -D_GNU_SOURCE -DR1_VERSION='"$(VERSION)"'
ALL_CFLAGS := -std=c11 -fopenmp $(WARN) $(CFLAGS) $(CPPFLAGS) -MMD -MP
LDLIBS  := -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) -lopenblas -lcjson -lpcre2-8 -lutf8proc -lmicrohttpd $(MPI_LIBS) -lpthread -lm
LDFLAGS += -fopenmp

LIB_SRC   := $(shell find src -name '*.c' -not -path 'src/cli/*' | sort)
CLI_SRC   := $(sort $(wildcard src/cli/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
# dtest_*.c: tests linked against a double-precision build of src/kernels and src/model
# (-DR1_DOUBLE, see src/kernels/real.h), for finite-difference gradient checks.
DTEST_SRC := $(sort $(wildcard tests/dtest_*.c))
DBL_SRC   := $(shell find src/kernels src/model -name '*.c' | sort)
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
FUZZ_SRC  := $(sort $(wildcard fuzz/fuzz_*.c))

# the web chat page (src/serve/page.html) becomes a C string in libr1: src/serve/page.h
PAGE_C    := $(BUILD)/gen/serve_page.c
PAGE_OBJ  := $(BUILD)/obj/gen/serve_page.o
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(PAGE_OBJ)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%) $(DTEST_SRC:tests/%.c=$(BUILD)/tests/%)
DBL_OBJ   := $(DBL_SRC:%.c=$(BUILD)/obj-double/%.o)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
FUZZ_BIN  := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
LIB       := $(BUILD)/libr1.a

.PHONY: all test test-run bench debug fuzz run deps clean help check-tests print-cflags report-screenshot serve-screenshot chaos tsan
all: $(BUILD)/r1 $(TEST_BIN)

help:
	@echo "make          build build/r1 and the tests"
	@echo "make run      install missing Debian packages, build, run the default pipeline"
	@echo "make test     install missing Debian packages, run every test (ends with 'N passed, N failed'), fuzz targets briefly"
	@echo "make bench    benchmarks beside their references; writes build/bench.json"
	@echo "make debug    the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	@echo "make tsan     the threaded kernel and engine tests under ThreadSanitizer (clang, libomp + Archer)"
	@echo "make fuzz     each fuzz target for FUZZ_SECONDS (default 60) or FUZZ_RUNS executions; FUZZ_TARGETS picks"
	@echo "make chaos    soak: every trainer and the nano pipeline SIGKILLed CHAOS_KILLS times (default 20), resumed, bytes compared"
	@echo "make report-screenshot  nano pipeline report rendered by headless Chromium: build/report.png"
	@echo "make serve-screenshot   r1 serve's web chat driven in headless Chromium: build/serve.png"
	@echo "make deps     install the Debian packages r1.c needs (as root)"

# the compiler flags without the optimisation and target choice (tests/build_portable.sh)
print-cflags:
	@echo -std=c11 -fopenmp $(WARN) $(CPPFLAGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj-double/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC64  $<"
	@$(CC) $(ALL_CFLAGS) -DR1_DOUBLE -c $< -o $@

$(PAGE_C): src/serve/page.html
	@mkdir -p $(dir $@)
	@echo "  GEN   $@"
	@{ echo '/* made from $< by the Makefile */'; echo '#include "serve/page.h"'; \
	   echo 'const char serve_page_html[] = {'; od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo '0};'; } > $@.tmp && mv $@.tmp $@

$(PAGE_OBJ): $(PAGE_C)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/r1: $(CLI_OBJ) $(LIB)
	@echo "  LINK  $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(LIB) tests/test.h
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# a static pattern rule: make 4.3 does not chain implicit rules for a pattern rule's plain
# prerequisites, so $(DBL_OBJ) must be explicit here to get built
$(DTEST_SRC:tests/%.c=$(BUILD)/tests/%): $(BUILD)/tests/dtest_%: tests/dtest_%.c $(DBL_OBJ) $(LIB) tests/test.h
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(ALL_CFLAGS) -DR1_DOUBLE $(LDFLAGS) $< $(DBL_OBJ) $(LIB) $(LDLIBS) -o $@

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  BENCH $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# Fuzz targets: clang + libFuzzer + ASan/UBSan. The library is compiled once more with the
# sanitizers (build/obj-fuzz) into libr1-fuzz.a; each target links against it. Undefined
# behaviour stops the run like a crash (no recovery), so it counts as a finding.
FUZZ_CFLAGS := -std=c11 -g -O1 -fopenmp $(CPPFLAGS) -Wno-unknown-pragmas -fno-sanitize-recover=all
FUZZ_LIB    := $(BUILD)/libr1-fuzz.a
$(BUILD)/obj-fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC $<"
	@clang $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
$(FUZZ_LIB): $(LIB_SRC:%.c=$(BUILD)/obj-fuzz/%.o)
	@rm -f $@
	@ar rcs $@ $^
$(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@echo "  FUZZ  $@"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $< $(FUZZ_LIB) $(LDLIBS) -o $@

FUZZ_SECONDS ?= 60
# the Debian packages first (tools/deps.sh: installs them as root, names them otherwise), then the
# build in a sub-make, so that nothing compiles before the headers are there
test: deps
	@$(MAKE) --no-print-directory test-run
test-run: all $(BUILD)/r1 $(FUZZ_BIN)
	@R1=$(BUILD)/r1 FUZZ="$(FUZZ_BIN)" ./tests/run.sh $(TEST_BIN) $(if $(FUZZ_BIN),tests/fuzz.sh) tests/report_render.sh tests/disk_full.sh tests/build_portable.sh \
	  tests/serve_api.sh tests/serve_page.sh tests/serve_load.sh

# the nano pipeline's report.html rendered by headless Chromium (tools/deps.sh --chromium), checked
report-screenshot: $(BUILD)/r1
	@R1=$(BUILD)/r1 ./tests/report_render.sh --png $(BUILD)/report.png && echo "wrote $(BUILD)/report.png"

# r1 serve's web chat in headless Chromium: a typed question, streamed thinking and answer, checked
serve-screenshot: $(BUILD)/r1
	@R1=$(BUILD)/r1 ./tests/serve_page.sh --png $(BUILD)/serve.png && echo "wrote $(BUILD)/serve.png"

# the SIGKILL soak: tests/test_chaos.c with more kills (R1_CHAOS_SEED=S replays a run's moments)
CHAOS_KILLS ?= 20
chaos: all
	@R1=$(BUILD)/r1 R1_CHAOS_KILLS=$(CHAOS_KILLS) $(BUILD)/tests/test_chaos

# FUZZ_RUNS=N runs each target for N executions instead of a time; FUZZ_TARGETS="fuzz_x fuzz_y"
# picks targets; each run's output is kept in build/fuzz-logs/ (its final stats give the figures)
FUZZ_RUNS ?=
FUZZ_TARGETS ?=
FUZZ_PICK := $(if $(FUZZ_TARGETS),$(FUZZ_TARGETS:%=$(BUILD)/fuzz/%),$(FUZZ_BIN))
fuzz: $(FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz-logs; for f in $(FUZZ_PICK); do n=$$(basename $$f); echo "== $$n"; mkdir -p $(BUILD)/corpus/$$n; \
	  $$f $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS)) -max_len=65536 -print_final_stats=1 \
	    $(BUILD)/corpus/$$n fuzz/corpus/$$n > $(BUILD)/fuzz-logs/$$n.log 2>&1 || { tail -40 $(BUILD)/fuzz-logs/$$n.log; exit 1; }; \
	  grep -E 'DONE|number_of_executed|peak_rss' $(BUILD)/fuzz-logs/$$n.log; done

bench: $(BUILD)/r1 $(BENCH_BIN)
	@BUILD=$(BUILD) ./bench/run.sh $(filter-out %/bench_model,$(BENCH_BIN))   # bench_train.sh runs bench_model beside torch

debug:
	$(MAKE) BUILD=build-debug OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined" \
	        LDFLAGS="-fopenmp -fsanitize=address,undefined" test

# ThreadSanitizer on the threaded kernel and engine tests. With GCC's libgomp TSan reports false
# races (libgomp's barriers are invisible to it); clang with LLVM's OpenMP runtime and its Archer
# tool (OMPT) tells TSan about OpenMP's synchronisation. OpenBLAS (built on libgomp, uninstrumented)
# runs single-threaded; accesses inside it are not checked.
TSAN_TESTS := test_kernels test_matmul_threads test_tile_mm test_gemm_small test_train_optim test_checkpoint \
              test_train_loop test_sft test_grpo
ARCHER     := $(firstword $(wildcard /usr/lib/llvm-*/lib/libarcher.so))
tsan:
	@test -n "$(ARCHER)" || { echo "make tsan: libarcher.so not found (Debian: libomp-dev)"; exit 1; }
	$(MAKE) BUILD=build-tsan CC=clang OPT="-O1 -fno-omit-frame-pointer -fsanitize=thread" \
	        LDFLAGS="-fopenmp -fsanitize=thread" $(TSAN_TESTS:%=build-tsan/tests/%)
	@OMP_TOOL_LIBRARIES=$(ARCHER) OPENBLAS_NUM_THREADS=1 \
	  TSAN_OPTIONS="ignore_noninstrumented_modules=1 halt_on_error=0 second_deadlock_stack=1" \
	  ./tests/run.sh $(TSAN_TESTS:%=build-tsan/tests/%)

deps:
	@./tools/deps.sh

run: deps
	$(MAKE) all
	./tools/run_default.sh

clean:
	rm -rf build build-debug build-tsan

-include $(shell find $(BUILD) build-debug -name '*.d' 2>/dev/null)
