#include "rl/sampling.h"

#include <stdlib.h>
#include <string.h>

#include "infer/prompt.h"

void completions_free(Completions *c) {
    for (int i = 0; i < c->n_prompts; i++) {
        if (c->question) free(c->question[i]);
        if (c->reference) free(c->reference[i]);
    }
    for (int i = 0; i < c->n_prompts * c->k; i++) if (c->text) free(c->text[i]);
    free(c->question); free(c->reference); free(c->task); free(c->level);
    free(c->text); free(c->len); free(c->n_tokens); free(c->finish);
    memset(c, 0, sizeof *c);
}

int sample_completions(const Model *m, Tokenizer *tok, const PromptSource *ps, PromptFormat fmt,
                       uint64_t first_index, int n_prompts, int k, const GenOptions *go,
                       Completions *c, Err *e) {
    memset(c, 0, sizeof *c);
    const int n = n_prompts * k;
    c->n_prompts = n_prompts;
    c->k = k;
    c->question = xcalloc((size_t)n_prompts, sizeof(char *));
    c->reference = xcalloc((size_t)n_prompts, sizeof(char *));
    c->task = xcalloc((size_t)n_prompts, sizeof(char *));
    c->level = xcalloc((size_t)n_prompts, sizeof(int));
    c->text = xcalloc((size_t)n, sizeof(char *));
    c->len = xcalloc((size_t)n, sizeof(size_t));
    c->n_tokens = xcalloc((size_t)n, sizeof(long));
    c->finish = xcalloc((size_t)n, sizeof(int));
    int **ids = xcalloc((size_t)n_prompts, sizeof(int *));
    int *n_ids = xcalloc((size_t)n_prompts, sizeof(int));
    GenRequest *req = xcalloc((size_t)n, sizeof *req);
    GenOutput *out = xcalloc((size_t)n, sizeof *out);
    int rc = 0;
    for (int i = 0; i < n_prompts && rc == 0; i++) {
        StrBuf q = {0}, ref = {0}, text = {0};
        rc = prompt_source_get_meta(ps, first_index + (uint64_t)i, &q, &ref, &c->task[i], &c->level[i], e);
        if (rc == 0) {
            c->question[i] = q.s ? sb_take(&q) : xstrdup("");
            c->reference[i] = ref.s ? sb_take(&ref) : xstrdup("");
            prompt_render(fmt, c->question[i], &text);
            rc = prompt_encode_raw(tok, text.s, &ids[i], &n_ids[i], e);
        }
        for (int j = 0; j < k && rc == 0; j++)
            req[i * k + j] = (GenRequest){ids[i], n_ids[i], first_index + (uint64_t)i, (uint64_t)j};
        sb_free(&q); sb_free(&ref); sb_free(&text);
    }
    if (rc == 0) rc = generate(m, req, n, go, out, NULL, e);
    StrBuf t = {0};
    for (int i = 0; i < n && rc == 0; i++) {
        sb_clear(&t);
        rc = prompt_completion_text(tok, &out[i], &t, e);
        /* the text may hold NUL bytes (a byte-level model can emit 0x00): copy by length */
        c->text[i] = xmalloc(t.len + 1);
        if (t.len) memcpy(c->text[i], t.s, t.len);
        c->text[i][t.len] = 0;
        c->len[i] = t.len;
        c->n_tokens[i] = out[i].n;
        c->finish[i] = out[i].finish;
    }
    sb_free(&t);
    if (out[0].tokens || rc == 0) gen_outputs_free(out, n);
    for (int i = 0; i < n_prompts; i++) free(ids[i]);
    free(ids); free(n_ids); free(req); free(out);
    if (rc) completions_free(c);
    return rc;
}
