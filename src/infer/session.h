/* A generation session: the continuous-batching engine of generate.h driven one step at a time,
 * so that sequences join and leave a running batch while it runs (r1 serve). generate() is a
 * loop over a session (add into free slots, step, until all are done), so there is one engine.
 *
 * A session owns the decode engine (KV cache of n_slots sequences of max_len tokens) and a
 * sequence per busy slot. Each step builds one batch (decode rows, then chunks of pending rows:
 * prompts and forced tokens), runs one engine_forward, samples, and frees the slots of the
 * sequences that finished in it. The handle of a sequence is its slot; it is valid from
 * gen_session_add until the sequence finishes (out->finish != GEN_RUNNING) or is cancelled.
 *
 * Per-sequence settings (GenSeqParams) may differ between sequences of one session: sampler,
 * seed, max new tokens, stop strings. A sequence samples from its stream (seed, prompt_index,
 * sample_index), one draw per sampled token, so its tokens do not depend on what else runs in
 * the session (generate.h).
 *
 * Forced tokens (gen_session_force) are appended as if generated — they count as output tokens,
 * go through the stop rules and on_token — but are not sampled and take no draw from the stream;
 * the next step feeds them (as a chunk) before the sequence samples again. The server closes a
 * spent thinking budget this way.
 *
 * Shared prompts (GenOptions.share_prompts, generate.h): gen_session_add compares the new
 * sequence's prompt with the running ones. If one is prefilling exactly that prompt, the new one
 * follows it: it feeds no rows, and in the step that ends the leader's prefill it copies the
 * leader's prompt rows and samples its first token from the leader's last-position logits. Else
 * if one's cache already holds the prompt, it copies all but the last prompt row and feeds that
 * row. A leader cancelled, finished or given forced tokens before its followers are served
 * hands them over (the first takes the rows fed so far and leads the rest); a follower given
 * forced tokens takes the rows fed so far and feeds the rest itself. Off under speculative
 * decoding (the MTP cache layer is not shared).
 *
 * Threads: one thread at a time calls a session's functions (the engine thread of r1 serve).
 */
#ifndef R1_INFER_SESSION_H
#define R1_INFER_SESSION_H

#include "infer/generate.h"

typedef struct GenSeqParams {
    SamplerParams sampler;
    uint64_t seed;
    int max_new_tokens;                 /* > 0 */
    const char *const *stop_strings;    /* the caller's memory, alive while the sequence runs */
    int n_stop_strings;
    int ignore_stop_ids;                /* run on past the session's stop id (EOS) */
} GenSeqParams;

/* The per-sequence settings of o (what generate() gives every request). */
GenSeqParams gen_seq_params(const GenOptions *o);

/* Checks o's engine settings and its per-sequence settings, with errors naming the option. */
int gen_options_check(const Model *m, const GenOptions *o, Err *e);

typedef struct GenSession GenSession;

/* Uses o's engine settings: n_slots, prefill_chunk, max_len, attn, speculative, vocab_limit,
 * stop_id, tok, want_logprobs, on_token.
 * NULL with an Err naming the option on invalid settings. */
GenSession *gen_session_new(const Model *m, const GenOptions *o, Err *e);
void gen_session_free(GenSession *s);

int gen_session_max_len(const GenSession *s);       /* context per sequence */
int gen_session_running(const GenSession *s);       /* busy slots */
int gen_session_free_slots(const GenSession *s);

/* Checks a request and its settings against the session without starting it: settings valid,
 * prompt non-empty and in the vocabulary, shorter than the context unless truncate_left.
 * Errors name "prompt <index>". */
int gen_session_check(const GenSession *s, const GenRequest *q, const GenSeqParams *p, int index,
                      Err *e);

/* Starts q (checked as above) in a free slot; out is filled as tokens are made (free it with
 * gen_outputs_free) and on_token gets `user` as its request. Returns the handle, or -1 with an
 * Err (invalid request, or no free slot). q->prompt may be freed once this returns. */
int gen_session_add(GenSession *s, const GenRequest *q, const GenSeqParams *p, int user,
                    GenOutput *out, Err *e);

/* One engine forward over every running sequence. Returns the tokens sampled; 0 when nothing
 * runs. */
int64_t gen_session_step(GenSession *s);

/* Appends n forced tokens to running sequence h (see above); stops early if one ends the
 * sequence (its slot is then free). Returns the sequence's finish state. */
GenFinish gen_session_force(GenSession *s, int h, const int *tok, int n);

/* Ends running sequence h now (finish GEN_CANCELLED) and frees its slot. */
void gen_session_cancel(GenSession *s, int h);

/* Counters since gen_session_new. */
GenStats gen_session_stats(const GenSession *s);

#endif
