/* The DeepSeek-R1 chat formats, rendered in C, and the Jinja template other tools apply.
 *
 * Rules (the R1 tokenizer_config.json template, Feb-2025 version):
 *   <｜begin▁of▁sentence｜> + all system contents joined by "\n\n" (R1-Distill: the last system
 *               content alone)
 *   user:       <｜User｜> + content
 *   assistant:  <｜Assistant｜> + content.split('</think>')[-1] + <｜end▁of▁sentence｜>
 *               (earlier turns' reasoning is stripped; the text after the last </think> is kept
 *               verbatim, leading "\n\n" included)
 *   tool:       <｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>content<｜tool▁output▁end｜> (later
 *               outputs "\n<｜tool▁output▁begin｜>..."); an assistant turn after tool output is
 *               <｜tool▁outputs▁end｜> + content + <｜end▁of▁sentence｜>, unstripped
 *   generation prompt (when asked and not after tool output): <｜Assistant｜><think>\n
 * chat_render() and CHAT_TEMPLATE_R1 implement the same rules; tests check examples of both
 * against the architecture notes. Tool *calls* (assistant messages with tool_calls) are not
 * represented in ChatMessage.
 *
 * The R1-Distill students (DeepSeek-R1-Distill-Qwen-*, -Llama-*) ship a template that differs from
 * R1's only in the system prompt: a later system message replaces an earlier one. Their
 * tokenizer_config.json (Feb-2025 version) also opens the assistant turn with <think>\n; the
 * first version's generation prompt was <｜Assistant｜> alone, and DeepSeek's usage notes ask to
 * force <think>\n, which r1 always does. */
#ifndef R1_TOKENIZER_CHAT_H
#define R1_TOKENIZER_CHAT_H

#include "base/error.h"
#include "base/strbuf.h"

#define CHAT_BOS "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"
#define CHAT_EOS "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"
#define CHAT_PAD "<\xef\xbd\x9c\xe2\x96\x81pad\xe2\x96\x81\xef\xbd\x9c>"
#define CHAT_USER "<\xef\xbd\x9cUser\xef\xbd\x9c>"
#define CHAT_ASSISTANT "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>"
#define CHAT_THINK "<think>"
#define CHAT_END_THINK "</think>"
#define CHAT_ANSWER "<answer>"
#define CHAT_END_ANSWER "</answer>"

typedef struct ChatMessage {
    const char *role;        /* "system", "user", "assistant" or "tool" */
    const char *content;
} ChatMessage;

typedef enum ChatFormat {
    CHAT_FORMAT_R1,            /* DeepSeek-R1 (and r1's own tokenizers) */
    CHAT_FORMAT_R1_DISTILL,    /* DeepSeek-R1-Distill-Qwen / -Llama */
} ChatFormat;

/* Appends the rendered conversation to out. -1 with an Err naming messages[i] on an unknown
 * role or a NULL content. */
int chat_render_format(ChatFormat f, const ChatMessage *msgs, int n, int add_generation_prompt,
                       StrBuf *out, Err *e);
/* The same in the R1 format. */
int chat_render(const ChatMessage *msgs, int n, int add_generation_prompt, StrBuf *out, Err *e);

/* The format a tokenizer_config.json chat_template renders: R1-Distill when it sets the system
 * prompt to each system message in turn (no "\n\n" join), otherwise (and for NULL) R1. */
ChatFormat chat_format_of_template(const char *chat_template);

/* The R1 chat template (Jinja), as stored in tokenizer_config.json. */
extern const char CHAT_TEMPLATE_R1[];

/* Writes a tokenizer_config.json (LlamaTokenizerFast, BOS/EOS/pad names, add_bos_token, the R1
 * chat template) atomically. */
int chat_write_tokenizer_config(const char *path, int model_max_length, Err *e);

#endif
