/* The server's engine: one thread owns the model and a generation session (infer/session.h);
 * HTTP threads hand it requests over a bounded queue and read their text back as it is made.
 *
 *   submit (any thread): the conversation is rendered with the chat template and tokenized, its
 *     length checked against the context (400), and the job queued — 429 when the queue holds
 *     queue_cap jobs already, 503 once draining;
 *   the engine thread: cancels jobs whose consumer left or whose time is up, admits queued jobs
 *     into free slots (in order), runs one session step, closes spent thinking budgets, splits
 *     each job's new text into reasoning and content (serve/think_split.h) and hands it over;
 *   serve_job_wait (the job's HTTP thread): takes what is new, waiting a bounded time;
 *   serve_job_release: the consumer is done — a job still running is cancelled, and its slot is
 *     free before the next step.
 *
 * Sampling streams: a request with "seed": S samples with stream (S, 0, 0) — what `r1 generate
 * --prompt ... --seed S` uses for its one prompt, so the two give the same tokens with the same
 * settings; a request without a seed uses (server seed, k, 0) for the k-th such request (k from
 * 1), so reruns of the same request sequence repeat.
 *
 * Thinking budget: a job that has made `thinking_budget` tokens without closing its thinking gets
 * "\n</think>\n\n" forced (session.h) and the model goes on to answer. */
#ifndef R1_SERVE_ENGINE_H
#define R1_SERVE_ENGINE_H

#include <stdint.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "model/model.h"
#include "serve/api_json.h"
#include "serve/request.h"
#include "tokenizer/tokenizer.h"

typedef struct ServeEngineOptions {
    int max_batch;              /* sequences decoded together (session slots) */
    int queue_cap;              /* jobs waiting for a slot, at most */
    int prefill_chunk;          /* prompt rows per step */
    int max_len;                /* context per sequence; 0 = max_position_embeddings */
    uint64_t seed;              /* stream seed of requests without one */
    double request_timeout;     /* seconds from submit to the end of a job; 0 = none */
    int threads;                /* the engine thread's (threads_set) */
} ServeEngineOptions;

typedef struct ServeEngine ServeEngine;
typedef struct ServeJob ServeJob;

typedef enum ServeEnd {
    SERVE_END_STOP = 0,         /* EOS or a stop string: finish_reason "stop" */
    SERVE_END_LENGTH,           /* max tokens or the context: "length" */
    SERVE_END_TIMEOUT,          /* request_timeout passed */
    SERVE_END_SHUTDOWN,         /* cancelled by the drain bound */
    SERVE_END_CANCELLED,        /* the consumer left */
} ServeEnd;

/* What a consumer has received so far (append-only; free with serve_update_free). */
typedef struct ServeUpdate {
    StrBuf reasoning, content;  /* new text (taken with serve_job_wait) */
    int finished;
    ServeEnd end;
    ApiUsage usage;
} ServeUpdate;

/* tok is used by this engine only (its encoder is serialised here). */
ServeEngine *serve_engine_start(const Model *m, Tokenizer *tok, const ServeEngineOptions *o, Err *e);
int serve_engine_max_len(const ServeEngine *s);

ServeJob *serve_submit(ServeEngine *s, const ServeRequest *r, ApiError *e);
/* Appends what is new to u, waiting up to timeout_s when nothing is; returns u->finished. */
int serve_job_wait(ServeJob *j, double timeout_s, ServeUpdate *u);
void serve_job_release(ServeJob *j);
void serve_update_free(ServeUpdate *u);

typedef struct ServeStatus {
    int running, queued, draining, max_batch;
    int64_t submitted;          /* jobs accepted since start */
    int64_t finished, cancelled;/* jobs ended; of them cut short (client gone, timeout, shutdown) */
    int64_t tokens;             /* completion tokens of the jobs ended */
} ServeStatus;
ServeStatus serve_engine_status(ServeEngine *s);

/* Takes no more jobs (503), lets the running and queued ones finish for up to grace_s seconds,
 * cancels the rest (SERVE_END_SHUTDOWN) and stops the engine thread. */
void serve_engine_drain(ServeEngine *s, double grace_s);
/* After serve_engine_drain and once every job is released. */
void serve_engine_free(ServeEngine *s);

#endif
