/* R1 chat rendering and tokenizer_config.json (see chat.h). */
#include "tokenizer/chat.h"

#include <string.h>

#include "io/json.h"

const char CHAT_TEMPLATE_R1[] =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif "
    "%}{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt="
    "'', is_first_sp=true) %}{%- for message in messages %}{%- if message['role'] == 'system' %}"
    "{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}{"
    "% set ns.is_first_sp = false %}{%- else %}{% set ns.system_prompt = ns.system_prompt + '\n\n"
    "' + message['content'] %}{%- endif %}{%- endif %}{%- endfor %}{{bos_token}}{{ns.system_prompt}"
    "}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false "
    "-%}{{'<\xef\xbd\x9cUser\xef\xbd\x9c>' + message['content']}}{%- endif %}{%- if message['role'"
    "] == 'assistant' and message['content'] is none %}{%- set ns.is_tool = false -%}{%- for tool "
    "in message['tool_calls']%}{%- if not ns.is_first %}{{'<\xef\xbd\x9c""Assistant\xef\xbd\x9c><\xef"
    "\xbd\x9ctool\xe2\x96\x81""calls\xe2\x96\x81""begin\xef\xbd\x9c><\xef\xbd\x9ctool\xe2\x96\x81""call\xe2"
    "\x96\x81""begin\xef\xbd\x9c>' + tool['type'] + '<\xef\xbd\x9ctool\xe2\x96\x81sep\xef\xbd\x9c>"
    "' + tool['function']['name'] + '\n' + '```json' + '\n' + tool['function']['arguments'] + '\n"
    "' + '```' + '<\xef\xbd\x9ctool\xe2\x96\x81""call\xe2\x96\x81""end\xef\xbd\x9c>'}}{%- set ns.is_"
    "first = true -%}{%- else %}{{'\n' + '<\xef\xbd\x9ctool\xe2\x96\x81""call\xe2\x96\x81""begin\xef"
    "\xbd\x9c>' + tool['type'] + '<\xef\xbd\x9ctool\xe2\x96\x81sep\xef\xbd\x9c>' + tool['function'"
    "]['name'] + '\n' + '```json' + '\n' + tool['function']['arguments'] + '\n' + '```' + '<\xef"
    "\xbd\x9ctool\xe2\x96\x81""call\xe2\x96\x81""end\xef\xbd\x9c>'}}{{'<\xef\xbd\x9ctool\xe2\x96\x81"
    "calls\xe2\x96\x81""end\xef\xbd\x9c><\xef\xbd\x9c""end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd"
    "\x9c>'}}{%- endif %}{%- endfor %}{%- endif %}{%- if message['role'] == 'assistant' and message["
    "'content'] is not none %}{%- if ns.is_tool %}{{'<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96"
    "\x81""end\xef\xbd\x9c>' + message['content'] + '<\xef\xbd\x9c""end\xe2\x96\x81of\xe2\x96\x81sentence\xef"
    "\xbd\x9c>'}}{%- set ns.is_tool = false -%}{%- else %}{% set content = message['content'] %}"
    "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{"
    "{'<\xef\xbd\x9c""Assistant\xef\xbd\x9c>' + content + '<\xef\xbd\x9c""end\xe2\x96\x81of\xe2\x96\x81"
    "sentence\xef\xbd\x9c>'}}{%- endif %}{%- endif %}{%- if message['role'] == 'tool' %}{%- set "
    "ns.is_tool = true -%}{%- if ns.is_output_first %}{{'<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2"
    "\x96\x81""begin\xef\xbd\x9c><\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81""begin\xef\xbd\x9c>"
    "' + message['content'] + '<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81""end\xef\xbd\x9c>'}"
    "}{%- set ns.is_output_first = false %}{%- else %}{{'\n<\xef\xbd\x9ctool\xe2\x96\x81output\xe2"
    "\x96\x81""begin\xef\xbd\x9c>' + message['content'] + '<\xef\xbd\x9ctool\xe2\x96\x81output\xe2"
    "\x96\x81""end\xef\xbd\x9c>'}}{%- endif %}{%- endif %}{%- endfor -%}{% if ns.is_tool %}{{'<\xef"
    "\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81""end\xef\xbd\x9c>'}}{% endif %}{% if add_generation_"
    "prompt and not ns.is_tool %}{{'<\xef\xbd\x9c""Assistant\xef\xbd\x9c><think>\\n'}}{% endif %}";

ChatFormat chat_format_of_template(const char *t) {
    /* R1 accumulates (is_first_sp, "+ '\n\n' +"); the distill template assigns each one */
    if (t && !strstr(t, "is_first_sp") && strstr(t, "ns.system_prompt = message['content']"))
        return CHAT_FORMAT_R1_DISTILL;
    return CHAT_FORMAT_R1;
}

int chat_render(const ChatMessage *msgs, int n, int add_generation_prompt, StrBuf *out, Err *e) {
    return chat_render_format(CHAT_FORMAT_R1, msgs, n, add_generation_prompt, out, e);
}

int chat_render_format(ChatFormat f, const ChatMessage *msgs, int n, int add_generation_prompt,
                       StrBuf *out, Err *e) {
    for (int i = 0; i < n; i++) {
        if (!msgs[i].role || !msgs[i].content) return err_set(e, "messages[%d]: missing role or content", i);
        const char *r = msgs[i].role;
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant") && strcmp(r, "tool"))
            return err_set(e, "messages[%d].role: '%s' is not system, user, assistant or tool", i, r);
    }
    sb_append(out, CHAT_BOS);
    int first_sp = 1, last_sp = -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(msgs[i].role, "system")) {
            last_sp = i;
            if (f == CHAT_FORMAT_R1_DISTILL) continue;
            if (!first_sp) sb_append(out, "\n\n");
            sb_append(out, msgs[i].content);
            first_sp = 0;
        }
    if (f == CHAT_FORMAT_R1_DISTILL && last_sp >= 0) sb_append(out, msgs[last_sp].content);
    int is_tool = 0, output_first = 1;
    for (int i = 0; i < n; i++) {
        const char *r = msgs[i].role, *c = msgs[i].content;
        if (!strcmp(r, "user")) {
            is_tool = 0;
            sb_append(out, CHAT_USER);
            sb_append(out, c);
        } else if (!strcmp(r, "assistant")) {
            if (is_tool) {
                sb_append(out, "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "end\xef\xbd\x9c>");
                sb_append(out, c);
                is_tool = 0;
            } else {
                /* content.split('</think>')[-1] */
                const char *k, *tail = c;
                while ((k = strstr(tail, CHAT_END_THINK))) tail = k + strlen(CHAT_END_THINK);
                sb_append(out, CHAT_ASSISTANT);
                sb_append(out, tail);
            }
            sb_append(out, CHAT_EOS);
        } else if (!strcmp(r, "tool")) {
            is_tool = 1;
            if (output_first) {
                sb_append(out, "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "begin\xef\xbd\x9c>");
                output_first = 0;
            } else {
                sb_append(out, "\n");
            }
            sb_append(out, "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "begin\xef\xbd\x9c>");
            sb_append(out, c);
            sb_append(out, "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "end\xef\xbd\x9c>");
        }
    }
    if (is_tool) sb_append(out, "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "end\xef\xbd\x9c>");
    if (add_generation_prompt && !is_tool) sb_append(out, CHAT_ASSISTANT CHAT_THINK "\n");
    return 0;
}

static cJSON *added_token_obj(const char *content) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "__type", "AddedToken");
    cJSON_AddStringToObject(o, "content", content);
    cJSON_AddBoolToObject(o, "lstrip", 0);
    cJSON_AddBoolToObject(o, "normalized", 1);
    cJSON_AddBoolToObject(o, "rstrip", 0);
    cJSON_AddBoolToObject(o, "single_word", 0);
    return o;
}

int chat_write_tokenizer_config(const char *path, int model_max_length, Err *e) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddBoolToObject(c, "add_bos_token", 1);
    cJSON_AddBoolToObject(c, "add_eos_token", 0);
    cJSON_AddItemToObject(c, "bos_token", added_token_obj(CHAT_BOS));
    cJSON_AddBoolToObject(c, "clean_up_tokenization_spaces", 0);
    cJSON_AddItemToObject(c, "eos_token", added_token_obj(CHAT_EOS));
    cJSON_AddBoolToObject(c, "legacy", 1);
    cJSON_AddNumberToObject(c, "model_max_length", model_max_length);
    cJSON_AddItemToObject(c, "pad_token", added_token_obj(CHAT_PAD));
    cJSON_AddItemToObject(c, "sp_model_kwargs", cJSON_CreateObject());
    cJSON_AddNullToObject(c, "unk_token");
    cJSON_AddStringToObject(c, "tokenizer_class", "LlamaTokenizerFast");
    cJSON_AddStringToObject(c, "chat_template", CHAT_TEMPLATE_R1);
    int rc = json_save_file(c, path, e);
    cJSON_Delete(c);
    return rc;
}
