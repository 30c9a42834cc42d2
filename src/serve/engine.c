/* The server's engine thread, its queue and the jobs it hands text back through (see engine.h). */
#include "serve/engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/threads.h"
#include "infer/prompt.h"
#include "infer/session.h"
#include "serve/think_split.h"

typedef enum JobState { JOB_QUEUED, JOB_RUNNING, JOB_DONE } JobState;

struct ServeJob {
    ServeEngine *eng;
    /* set by submit, read-only afterwards */
    int *prompt;
    int n_prompt;
    GenRequest q;
    GenSeqParams p;
    char *stops[SERVE_MAX_STOP];
    int budget;                 /* thinking tokens before the close is forced; -1 none */
    double deadline;            /* monotonic seconds; 0 none */
    /* the engine thread's */
    int handle, user;
    GenOutput out;
    ThinkSplit split;
    int reasoning_tokens, closed;
    /* shared, under eng->mu */
    int refs;
    JobState state;
    int cancel;                 /* the consumer left */
    ServeUpdate pub;            /* text made and not yet taken; finished, end, usage */
    pthread_cond_t cv;
    ServeJob *next;             /* queue link */
};

struct ServeEngine {
    const Model *m;
    Tokenizer *tok;
    ServeEngineOptions o;
    int max_len, eos;
    int *close_ids, n_close;    /* "\n</think>\n\n" */
    GenSession *sess;
    ServeJob **active;          /* [max_batch] jobs in the session, by on_token's index */
    int n_active;
    pthread_t thread;
    pthread_mutex_t mu, tok_mu;
    pthread_cond_t cv;          /* the engine waits here when idle */
    ServeJob *head, *tail;      /* queue */
    int queued;
    int draining;
    double drain_deadline;
    int64_t submitted, unseeded, finished, cancelled, tokens;
};

static double mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void on_token(void *ctx, int user, int token) {
    ServeEngine *s = ctx;
    ServeJob *j = s->active[user];
    if (token != s->eos) {
        size_t n = 0;
        const char *b = tokenizer_token_bytes(s->tok, (uint32_t)token, &n);
        if (b) think_split_append(&j->split, b, n);
    }
    if (!j->closed) {
        j->reasoning_tokens++;
        j->closed = think_split_closed(&j->split);
    }
}

static void job_unref_locked(ServeJob *j) {
    if (--j->refs > 0) return;
    free(j->prompt);
    for (int i = 0; i < SERVE_MAX_STOP; i++) free(j->stops[i]);
    gen_outputs_free(&j->out, 1);
    think_split_free(&j->split);
    serve_update_free(&j->pub);
    pthread_cond_destroy(&j->cv);
    free(j);
}

/* Hands the job's certain new text to its consumer and, when it has ended, the end (under mu). */
static void publish_locked(ServeJob *j, int finished, ServeEnd end) {
    size_t cut = j->out.finish == GEN_STOP_STRING && j->out.stop_at >= 0 ? (size_t)j->out.stop_at : SIZE_MAX;
    think_split_take(&j->split, finished, cut, &j->pub.reasoning, &j->pub.content);
    if (finished) {
        ServeEngine *s = j->eng;
        s->finished++;
        s->cancelled += end >= SERVE_END_TIMEOUT;
        s->tokens += j->out.n;
        j->pub.finished = 1;
        j->pub.end = end;
        j->pub.usage = (ApiUsage){j->n_prompt, j->out.n, j->reasoning_tokens};
        j->state = JOB_DONE;
    }
    pthread_cond_broadcast(&j->cv);
}

static ServeEnd end_of(GenFinish f) {
    return f == GEN_EOS || f == GEN_STOP_STRING ? SERVE_END_STOP : SERVE_END_LENGTH;
}

/* A running job leaves the session (under mu). */
static void retire_locked(ServeEngine *s, ServeJob *j, ServeEnd end) {
    publish_locked(j, 1, end);
    s->active[j->user] = NULL;
    s->n_active--;
    job_unref_locked(j);
}

/* Closes a spent thinking budget. */
static void check_budget(ServeEngine *s, ServeJob *j) {
    if (j->budget < 0 || j->closed || j->out.finish != GEN_RUNNING || j->reasoning_tokens < j->budget) return;
    gen_session_force(s->sess, j->handle, s->close_ids, s->n_close);
    j->closed = 1;          /* even if the session ended it before the whole tag */
}

/* Queue pops and session starts: as many as there are free slots (under mu). */
static void admit_locked(ServeEngine *s) {
    while (s->head && gen_session_free_slots(s->sess) > 0) {
        ServeJob *j = s->head;
        s->head = j->next;
        if (!s->head) s->tail = NULL;
        s->queued--;
        int u = 0;
        while (s->active[u]) u++;
        s->active[u] = j;
        s->n_active++;
        j->user = u;
        j->state = JOB_RUNNING;
        Err e = {{0}};
        j->handle = gen_session_add(s->sess, &j->q, &j->p, u, &j->out, &e);
        CHECK(j->handle >= 0);      /* checked at submit */
        check_budget(s, j);
        if (j->out.finish != GEN_RUNNING) retire_locked(s, j, end_of(j->out.finish));
    }
}

static ServeEnd cut_end(const ServeJob *j, int late) {
    return late ? SERVE_END_TIMEOUT : j->cancel ? SERVE_END_CANCELLED : SERVE_END_SHUTDOWN;
}

/* Cancels jobs whose consumer left, whose time is up, or (shutdown) all (under mu). */
static void reap_locked(ServeEngine *s, double now, int all) {
    for (ServeJob **pj = &s->head; *pj;) {
        ServeJob *j = *pj;
        int late = j->deadline > 0 && now > j->deadline;
        if (j->cancel || late || all) {
            *pj = j->next;
            if (s->tail == j) s->tail = NULL;
            s->queued--;
            publish_locked(j, 1, cut_end(j, late));
            job_unref_locked(j);
        } else {
            pj = &j->next;
        }
    }
    if (!s->head) s->tail = NULL;
    else if (!s->tail) for (s->tail = s->head; s->tail->next; s->tail = s->tail->next) {}
    for (int u = 0; u < s->o.max_batch; u++) {
        ServeJob *j = s->active[u];
        if (!j) continue;
        int late = j->deadline > 0 && now > j->deadline;
        if (!j->cancel && !late && !all) continue;
        gen_session_cancel(s->sess, j->handle);
        retire_locked(s, j, cut_end(j, late));
    }
}

static void *engine_main(void *arg) {
    ServeEngine *s = arg;
    threads_set(s->o.threads);      /* OpenMP's thread count is per thread */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        double now = mono_now();
        int shutdown = s->draining && now > s->drain_deadline;
        reap_locked(s, now, shutdown);
        admit_locked(s);
        if (s->n_active == 0) {
            if (s->draining && !s->head) break;
            /* idle: wait for a job, a cancel or the drain (bounded, for deadlines) */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100000000L;
            if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        gen_session_step(s->sess);
        for (int u = 0; u < s->o.max_batch; u++)
            if (s->active[u]) check_budget(s, s->active[u]);
        pthread_mutex_lock(&s->mu);
        for (int u = 0; u < s->o.max_batch; u++) {
            ServeJob *j = s->active[u];
            if (!j) continue;
            if (j->out.finish != GEN_RUNNING) retire_locked(s, j, end_of(j->out.finish));
            else publish_locked(j, 0, SERVE_END_STOP);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

ServeEngine *serve_engine_start(const Model *m, Tokenizer *tok, const ServeEngineOptions *o, Err *e) {
    if (o->max_batch < 1) { err_set(e, "serve engine: max_batch must be >= 1, got %d", o->max_batch); return NULL; }
    if (o->queue_cap < 0) { err_set(e, "serve engine: queue_cap must be >= 0, got %d", o->queue_cap); return NULL; }
    ServeEngine *s = xcalloc(1, sizeof *s);
    s->m = m;
    s->tok = tok;
    s->o = *o;
    s->eos = (int)(tokenizer_eos_id(tok) >= 0 ? tokenizer_eos_id(tok) : m->cfg.eos_token_id);
    /* each request brings its own sampler, seed and length (GenSeqParams); these are the engine's */
    GenOptions go = gen_options(sampler_defaults(), 0, 1, tok);
    go.n_slots = o->max_batch;
    go.prefill_chunk = o->prefill_chunk;
    go.max_len = o->max_len;
    go.stop_id = s->eos;
    go.on_token = on_token;
    go.on_token_ctx = s;
    s->sess = gen_session_new(m, &go, e);
    if (!s->sess) { free(s); return NULL; }
    s->max_len = gen_session_max_len(s->sess);
    TokIds ids = {0};
    static const char close[] = "\n" CHAT_END_THINK "\n\n";
    if (tokenizer_encode(tok, close, sizeof close - 1, &ids, e) < 0) {
        gen_session_free(s->sess);
        free(s);
        return NULL;
    }
    s->n_close = (int)ids.n;
    s->close_ids = xmalloc(ids.n * sizeof *s->close_ids);
    for (size_t i = 0; i < ids.n; i++) s->close_ids[i] = (int)ids.v[i];
    tokids_free(&ids);
    s->active = xcalloc((size_t)o->max_batch, sizeof *s->active);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->tok_mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, engine_main, s) != 0) {
        err_set(e, "serve: cannot start the engine thread");
        serve_engine_free(s);
        return NULL;
    }
    return s;
}

int serve_engine_max_len(const ServeEngine *s) { return s->max_len; }

ServeJob *serve_submit(ServeEngine *s, const ServeRequest *r, ApiError *ae) {
    Err e = {{0}};
    if (sampler_validate(&r->sampler, &e) < 0) {
        api_error(ae, 400, "invalid_request_error", "invalid_value", NULL, "%s", e.msg);
        return NULL;
    }
    int *ids = NULL, n = 0;
    pthread_mutex_lock(&s->tok_mu);
    int rc = prompt_encode_chat(s->tok, r->msgs, r->n_msgs, &ids, &n, &e);
    pthread_mutex_unlock(&s->tok_mu);
    if (rc < 0) {
        api_error(ae, 400, "invalid_request_error", "invalid_value", "messages", "messages: %s", e.msg);
        return NULL;
    }
    if (n >= s->max_len) {
        api_error(ae, 400, "invalid_request_error", "context_length_exceeded", "messages",
                  "the messages take %d tokens; this server's context is %d tokens (prompt and at "
                  "least one generated)", n, s->max_len);
        free(ids);
        return NULL;
    }
    ServeJob *j = xcalloc(1, sizeof *j);
    j->eng = s;
    j->prompt = ids;
    j->n_prompt = n;
    int room = s->max_len - n;
    j->p.sampler = r->sampler;
    j->p.max_new_tokens = r->max_tokens > 0 && r->max_tokens < room ? r->max_tokens : room;
    size_t hold = 0;
    for (int i = 0; i < r->n_stop; i++) {
        j->stops[i] = xstrdup(r->stop[i]);
        size_t l = strlen(r->stop[i]);
        if (l - 1 > hold) hold = l - 1;
    }
    j->p.stop_strings = (const char *const *)j->stops;
    j->p.n_stop_strings = r->n_stop;
    j->p.ignore_stop_ids = r->ignore_eos;
    j->budget = r->thinking_budget;
    j->deadline = s->o.request_timeout > 0 ? mono_now() + s->o.request_timeout : 0;
    think_split_init(&j->split, hold);
    j->handle = -1;
    j->refs = 2;                /* the engine's and the consumer's */
    pthread_cond_init(&j->cv, NULL);
    pthread_mutex_lock(&s->mu);
    if (s->draining || s->queued + s->n_active >= s->o.max_batch + s->o.queue_cap) {
        int busy = !s->draining;
        pthread_mutex_unlock(&s->mu);
        if (busy)
            api_error(ae, 429, "rate_limit_error", "queue_full", NULL,
                      "the server is busy: %d requests are running and %d waiting; retry later",
                      s->o.max_batch, s->o.queue_cap);
        else
            api_error(ae, 503, "server_error", "shutting_down", NULL, "the server is shutting down");
        j->refs = 1;
        pthread_mutex_lock(&s->mu);
        job_unref_locked(j);
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }
    if (r->has_seed) {
        j->p.seed = r->seed;
        j->q = (GenRequest){j->prompt, n, 0, 0};
    } else {
        j->p.seed = s->o.seed;
        j->q = (GenRequest){j->prompt, n, (uint64_t)++s->unseeded, 0};
    }
    s->submitted++;
    j->state = JOB_QUEUED;
    if (s->tail) s->tail->next = j;
    else s->head = j;
    s->tail = j;
    s->queued++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return j;
}

static void move_text(StrBuf *to, StrBuf *from) {
    if (from->len) sb_append_n(to, from->s, from->len);
    sb_clear(from);
}

int serve_job_wait(ServeJob *j, double timeout_s, ServeUpdate *u) {
    ServeEngine *s = j->eng;
    pthread_mutex_lock(&s->mu);
    if (!j->pub.finished && !j->pub.reasoning.len && !j->pub.content.len && timeout_s > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long ns = (long)((timeout_s - (double)(long)timeout_s) * 1e9) + ts.tv_nsec;
        ts.tv_sec += (time_t)timeout_s + ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        int rc = 0;
        while (rc != ETIMEDOUT && !j->pub.finished && !j->pub.reasoning.len && !j->pub.content.len)
            rc = pthread_cond_timedwait(&j->cv, &s->mu, &ts);
    }
    move_text(&u->reasoning, &j->pub.reasoning);
    move_text(&u->content, &j->pub.content);
    if (j->pub.finished) {
        u->finished = 1;
        u->end = j->pub.end;
        u->usage = j->pub.usage;
    }
    pthread_mutex_unlock(&s->mu);
    return u->finished;
}

void serve_job_release(ServeJob *j) {
    ServeEngine *s = j->eng;
    pthread_mutex_lock(&s->mu);
    if (j->state != JOB_DONE) {
        j->cancel = 1;
        pthread_cond_signal(&s->cv);
    }
    job_unref_locked(j);
    pthread_mutex_unlock(&s->mu);
}

void serve_update_free(ServeUpdate *u) {
    sb_free(&u->reasoning);
    sb_free(&u->content);
}

ServeStatus serve_engine_status(ServeEngine *s) {
    pthread_mutex_lock(&s->mu);
    ServeStatus st = {s->n_active, s->queued, s->draining, s->o.max_batch, s->submitted, s->finished,
                      s->cancelled, s->tokens};
    pthread_mutex_unlock(&s->mu);
    return st;
}

void serve_engine_drain(ServeEngine *s, double grace_s) {
    pthread_mutex_lock(&s->mu);
    int was = s->draining;
    s->draining = 1;
    s->drain_deadline = mono_now() + grace_s;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (!was) pthread_join(s->thread, NULL);
}

void serve_engine_free(ServeEngine *s) {
    if (!s) return;
    gen_session_free(s->sess);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->tok_mu);
    pthread_cond_destroy(&s->cv);
    free(s->active);
    free(s->close_ids);
    free(s);
}
