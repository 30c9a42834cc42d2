/* SIGKILL at random moments. Each trainer — pretrain, sft, distill, grpo, zero, align, rm train —
 * and the nano pipeline runs once uninterrupted, then again in the same folder (after the first is
 * moved aside, so that paths match) while being killed with SIGKILL, its whole process group at
 * once as a machine going down would, at random moments, and rerun after each kill as a user
 * would (`--resume` when the folder holds a checkpoint; the pipeline resumes by itself) until it
 * finishes. The folder must then hold the bytes of the uninterrupted run: every file, checkpoints
 * included, and metrics.jsonl less its timing fields (keys ending in "_s"); for the pipeline,
 * results.json with its curves. Wall times (.stages/NAME.done, timings.json, the report, the log)
 * and the token cache (it records source mtimes) are only required to exist.
 *
 * A kill lands at T·u after a start, u uniform in [0.02, 0.8) and T the uninterrupted run's wall
 * time; a round that finishes before R1_CHAOS_KILLS (default 3) kills have landed is followed by
 * another in a fresh folder. The moments come from a Philox stream keyed by R1_CHAOS_SEED (default:
 * the clock), printed with every round so a failure can be replayed:
 *     R1_CHAOS_SEED=S build/tests/test_chaos [case]
 * `make chaos` runs the soak (R1_CHAOS_KILLS=20). Runs the real binary ($R1, default build/r1). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/rng.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "test.h"
#include "test_util.h"
#include "train/checkpoint.h"

static char dir[] = "/tmp/r1_chaos_XXXXXX";
static uint64_t seed;
static int kills_wanted = 3;
static const char *only;        /* run this case alone (argv[1]) */

/* ---- processes ---- */

/* Starts `sh -c cmd` as the leader of a new process group, output appended to log. */
static pid_t start(const char *cmd, const char *log) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        FILE *f = freopen(log, "a", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0) _exit(127);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    if (pid > 0) setpgid(pid, pid);
    return pid;
}

/* Waits for pid up to `seconds` (< 0: no limit), then SIGKILLs its group. Returns 1 when it was
 * killed, 0 when it exited by itself (*status its wait status). */
static int wait_or_kill(pid_t pid, double seconds, int *status) {
    const double end = clock_now() + seconds;
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid) return 0;
        if (w < 0 && errno != EINTR) { *status = -1; return 0; }
        if (seconds >= 0 && clock_now() >= end) break;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    kill(-pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {}
    return 1;
}

/* ---- the comparison ---- */

/* Files whose contents are wall times or keyed by mtimes: only their presence is compared. */
static int timing_file(const char *rel) {
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    return !strncmp(rel, ".stages/", 8) || !strcmp(base, "pipeline.log") || !strcmp(base, "timings.json") ||
           !strcmp(base, "report.md") || !strcmp(base, "report.html") || !strcmp(base, "tokens.bin");
}

/* metrics.jsonl without the keys ending in "_s" (timings), one compact line per line. */
static char *metrics_without_timings(const char *path) {
    char *buf = tu_slurp(path);
    StrBuf out = {0};
    sb_append(&out, "");
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        Err e;
        cJSON *j = json_parse_n(line, strlen(line), &e);
        if (!j) { sb_printf(&out, "unparsable: %s\n", line); continue; }
        for (cJSON *k = j->child; k;) {
            cJSON *next = k->next;
            size_t n = strlen(k->string);
            if (n >= 2 && !strcmp(k->string + n - 2, "_s")) cJSON_Delete(cJSON_DetachItemViaPointer(j, k));
            k = next;
        }
        char *s = cJSON_PrintUnformatted(j);
        sb_printf(&out, "%s\n", s);
        free(s);
        cJSON_Delete(j);
    }
    free(buf);
    return out.s;
}

static int same_contents(const char *a, const char *b, const char *rel) {
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    if (timing_file(rel)) return 1;
    if (strcmp(base, "metrics.jsonl")) return tu_same_file(a, b);
    char *x = metrics_without_timings(a), *y = metrics_without_timings(b);
    int same = !strcmp(x, y);
    free(x);
    free(y);
    return same;
}

/* Every file under a/rel must be in b with the same contents (both == 1: only presence). Writes
 * the first difference to why. Returns the files compared, -1 on a difference. */
static int compare_tree(const char *a, const char *b, const char *rel, int contents, char *why, size_t cap) {
    char pa[2200], pb[2200];
    snprintf(pa, sizeof pa, "%s%s%s", a, *rel ? "/" : "", rel);
    DIR *d = opendir(pa);
    if (!d) { snprintf(why, cap, "%s: cannot open", pa); return -1; }
    int n = 0;
    struct dirent *de;
    while (n >= 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        snprintf(pa, sizeof pa, "%s/%s", a, sub);
        snprintf(pb, sizeof pb, "%s/%s", b, sub);
        struct stat sa, sb_;
        if (stat(pa, &sa) != 0) continue;
        if (stat(pb, &sb_) != 0) { snprintf(why, cap, "%s %s", sub, contents ? "is missing" : "is left over"); n = -1; break; }
        if (S_ISDIR(sa.st_mode)) {
            int k = compare_tree(a, b, sub, contents, why, cap);
            n = k < 0 ? -1 : n + k;
        } else if (contents && !same_contents(pa, pb, sub)) {
            snprintf(why, cap, "%s differs", sub);
            n = -1;
        } else {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* ---- one case ---- */

typedef struct Case {
    const char *name;
    const char *args;       /* the command after `r1 `, with %1$s the inputs' folder */
    int pipeline;           /* resumes by itself: never given --resume */
} Case;

static const char *const IN = "%1$s";   /* placeholder for the inputs (the nano pipeline's folder) */

static void command(const Case *c, const char *in, const char *out, int resume, char *buf, size_t cap) {
    char args[2048];
    StrBuf a = {0};
    for (const char *s = c->args; *s;) {   /* expand every %1$s */
        const char *p = strstr(s, IN);
        if (!p) { sb_append(&a, s); break; }
        sb_append_n(&a, s, (size_t)(p - s));
        sb_append(&a, in);
        s = p + strlen(IN);
    }
    snprintf(args, sizeof args, "%s", a.s);
    sb_free(&a);
    snprintf(buf, cap, "%s %s --out=%s --threads=2%s", tu_r1_bin(), args, out, resume ? " --resume" : "");
}

/* Runs the case uninterrupted into out, then moves it to ref. Returns its wall seconds (< 0 on
 * failure). */
static double reference_run(const Case *c, const char *in, const char *out, const char *ref) {
    char cmd[4096], log[1100];
    command(c, in, out, 0, cmd, sizeof cmd);
    snprintf(log, sizeof log, "%s.ref.log", out);
    double t0 = clock_now();
    int status;
    wait_or_kill(start(cmd, log), 600, &status);
    double t = clock_now() - t0;
    StrBuf o = {0};
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && tu_runf(&o, "mv %s %s", out, ref) == 0;
    EXPECTF(ok, "%s: the uninterrupted run failed (%s)", c->name, log);
    sb_free(&o);
    return ok ? t : -1;
}

/* T: the uninterrupted run's seconds when out.ref holds it already, else < 0. */
static void run_case(int index, const Case *c, const char *in, double T) {
    char out[512], ref[600], log[600];
    snprintf(out, sizeof out, "%s/%s", dir, c->name);
    snprintf(ref, sizeof ref, "%s/%s.ref", dir, c->name);
    snprintf(log, sizeof log, "%s.log", out);
    if (T < 0) T = reference_run(c, in, out, ref);
    if (T < 0) return;
    Rng rng = rng_make(seed, RNG_TEST, (uint64_t)index, 0);
    int landed = 0, rounds = 0, files = 0;
    while (landed < kills_wanted && rounds < 3 * kills_wanted + 3) {
        rounds++;
        StrBuf o = {0}, at = {0};
        tu_runf(&o, "rm -rf %s %s", out, log);
        sb_free(&o);
        int done = 0, attempts = 0;
        while (!done) {
            char cmd[4096];
            command(c, in, out, !c->pipeline && checkpoint_in_run(out), cmd, sizeof cmd);
            double when = landed < kills_wanted ? T * (0.02 + 0.78 * rng_uniform(&rng)) : -1;
            int status;
            int killed = wait_or_kill(start(cmd, log), when >= 0 ? when : 600 + 20 * T, &status);
            attempts++;
            if (killed && landed < kills_wanted) {
                landed++;
                sb_printf(&at, " %.3f", when);
                continue;
            }
            done = 1;
            if (killed || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char *l = tu_slurp(log);
                size_t n = strlen(l);
                EXPECTF(0, "%s: seed %llu round %d: attempt %d failed (status %d); log ends:\n%s", c->name,
                        (unsigned long long)seed, rounds, attempts, status, l + (n > 1500 ? n - 1500 : 0));
                free(l);
                sb_free(&at);
                return;
            }
        }
        char why[2400] = "";
        int k = compare_tree(ref, out, "", 1, why, sizeof why);
        if (k >= 0) k = compare_tree(out, ref, "", 0, why, sizeof why) < 0 ? -1 : k;
        printf("  chaos %s: seed %llu round %d: killed at%s s (run %.2f s, %d attempts): %s%s\n", c->name,
               (unsigned long long)seed, rounds, at.s ? at.s : " -", T, attempts,
               k >= 0 ? "same bytes" : "DIFFERENT: ", k >= 0 ? "" : why);
        fflush(stdout);
        sb_free(&at);
        EXPECTF(k >= 0, "%s: seed %llu: %s after resuming (replay: R1_CHAOS_SEED=%llu build/tests/test_chaos %s)",
                c->name, (unsigned long long)seed, why, (unsigned long long)seed, c->name);
        if (k < 0) return;
        files = k;
    }
    EXPECTF(landed >= kills_wanted, "%s: only %d kills landed in %d rounds", c->name, landed, rounds);
    printf("  chaos %s: %d kills, %d rounds, %d files equal\n", c->name, landed, rounds, files);
}

/* ---- the cases ---- */

static const Case CASES[] = {
    {"pretrain", "pretrain --config=%1$s/configs/base.json --tokenizer=%1$s/tokenizer/tokenizer.json "
                 "--data=%1$s/data/corpus.jsonl --steps=24 --batch=8 --seq-len=128 --learning-rate=0.003 "
                 "--warmup-steps=2 --eval-every=10 --save-every=3 --keep=2 --seed=1", 0},
    {"sft", "sft --model=%1$s/base --data=%1$s/data/cold_start.jsonl --steps=16 --batch=8 --seq-len=128 "
            "--learning-rate=0.001 --eval-every=5 --save-every=2 --seed=1", 0},
    {"distill", "distill --data=%1$s/data/r1_samples.jsonl --student-config=%1$s/configs/student.json "
                "--tokenizer=%1$s/tokenizer/tokenizer.json --init=%1$s/student_base --steps=16 --batch=8 "
                "--seq-len=128 --learning-rate=0.001 --save-every=2 --seed=1", 0},
    {"grpo", "grpo --model=%1$s/cold_start --task=arith --level=1 --lang=mixed --prompt-format=chat "
             "--rewards=accuracy:1,format:0.5,language:0.5 --steps=8 --prompts-per-step=4 --num-generations=4 "
             "--max-completion-length=48 --learning-rate=0.001 --beta=0.01 --ref-model-sync-steps=3 "
             "--eval-every=3 --eval-n=16 --eval-k=2 --save-every=1 --seed=1", 0},
    {"zero", "zero --model=%1$s/base --task=arith --level=1 --lang=mixed --prompt-format=plain "
             "--rewards=accuracy:1,format:0.5,language:0.5 --steps=6 --prompts-per-step=4 --num-generations=4 "
             "--max-completion-length=48 --learning-rate=0.001 --dynamic-sampling --max-refill=1 "
             "--save-every=2 --seed=1", 0},
    {"align", "align --model=%1$s/rs_sft --rm-helpful=%1$s/rm_helpful --rm-harmless=%1$s/rm_harmless "
              "--task=arith --level=1 --steps=6 --prompts-per-step=4 --num-generations=4 "
              "--max-completion-length=48 --learning-rate=0.001 --save-every=1 --seed=1", 0},
    {"rm_train", "rm train --model=%1$s/base --builtin=helpful --n=60 --epochs=4 --learning-rate=4e-3 "
                 "--save-every=2 --seed=1", 0},
    {"pipeline", "pipeline --preset=nano", 1},
};

int main(int argc, char **argv) {
    const char *s = getenv("R1_CHAOS_SEED");
    seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
    const char *k = getenv("R1_CHAOS_KILLS");
    if (k && atoi(k) > 0) kills_wanted = atoi(k);
    if (argc > 1) only = argv[1];
    printf("  chaos: seed %llu, %d kills per case (replay: R1_CHAOS_SEED=%llu build/tests/test_chaos [case])\n",
           (unsigned long long)seed, kills_wanted, (unsigned long long)seed);
    if (!mkdtemp(dir)) { printf("FAIL setup: mkdtemp\n"); return 1; }
    /* the inputs of every trainer: an uninterrupted nano pipeline, which is also the reference of
     * the pipeline case */
    char in[600], cmd[2048];
    snprintf(in, sizeof in, "%s/pipeline", dir);
    snprintf(cmd, sizeof cmd, "%s pipeline --preset=nano --out=%s --threads=2 > %s.setup.log 2>&1", tu_r1_bin(), in, in);
    double t0 = clock_now();
    if (system(cmd) != 0) { printf("FAIL setup: %s (see %s.setup.log)\n", cmd, in); return 1; }
    const double T_pipeline = clock_now() - t0;
    snprintf(cmd, sizeof cmd, "cp -r %s %s/inputs && mv %s %s.ref", in, dir, in, in);
    if (system(cmd) != 0) { printf("FAIL setup: %s\n", cmd); return 1; }
    snprintf(in, sizeof in, "%s/inputs", dir);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "test_sigkill_%s", CASES[i].name);
        test_current_name = name;
        test_failures_in_current = 0;
        test_skip_why[0] = 0;
        if (only && strcmp(only, CASES[i].name)) continue;
        run_case((int)i, &CASES[i], in, CASES[i].pipeline ? T_pipeline : -1);
        printf("%s %s\n", test_failures_in_current ? "FAIL" : "PASS", name);
        if (test_failures_in_current) test_total_failed++;
        fflush(stdout);
    }
    if (!test_total_failed) {
        Err e;
        file_remove_tree(dir, &e);
    } else {
        printf("  (run folders kept in %s)\n", dir);
    }
    return TEST_EXIT();
}
