/* The DeepSeek-R1 chat format, rendered in C, and the Jinja template other tools apply.
 *
 * Rules (the R1 tokenizer_config.json template, Feb-2025 version):
 *   <｜begin▁of▁sentence｜> + all system contents joined by "\n\n"
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
 * represented in ChatMessage. */
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

/* Appends the rendered conversation to out. -1 with an Err naming messages[i] on an unknown
 * role or a NULL content. */
int chat_render(const ChatMessage *msgs, int n, int add_generation_prompt, StrBuf *out, Err *e);

/* The R1 chat template (Jinja), as stored in tokenizer_config.json. */
extern const char CHAT_TEMPLATE_R1[];

/* Writes a tokenizer_config.json (LlamaTokenizerFast, BOS/EOS/pad names, add_bos_token, the R1
 * chat template) atomically. */
int chat_write_tokenizer_config(const char *path, int model_max_length, Err *e);

#endif
