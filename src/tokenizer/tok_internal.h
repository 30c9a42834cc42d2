/* Inside of a Tokenizer, shared by tokenizer.c (encode/decode) and hf.c (tokenizer.json loading).
 * Not for use outside src/tokenizer/. */
#ifndef R1_TOKENIZER_TOK_INTERNAL_H
#define R1_TOKENIZER_TOK_INTERNAL_H

#include "tokenizer/bpe.h"
#include "tokenizer/normalize.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"

typedef struct AddedToken {
    char *content;           /* raw text, owned */
    size_t len;
    uint32_t id;
    int special, lstrip, rstrip, single_word, normalized;
} AddedToken;

/* Byte trie of added-token contents, for leftmost-longest matching. Node 0 is the root. */
typedef struct TrieNode {
    int32_t child, sibling;  /* first child, next sibling; -1 = none */
    int32_t tok;             /* index into Tokenizer.added of a token ending here, or -1 */
    unsigned char byte;
} TrieNode;

typedef struct Trie {
    TrieNode *nodes;
    size_t n, cap;
    unsigned char first[256];    /* 1 if some token starts with this byte */
} Trie;

struct Tokenizer {
    Bpe bpe;
    Normalizer norm;             /* n == 0: none */
    PreTok pre;
    AddedToken *added;
    int n_added;
    Trie special_trie, plain_trie;   /* normalized=false tokens (matched first), normalized=true */
    unsigned char *is_special;   /* [bpe.n_ids] */
    int64_t bos, eos, pad;
    ChatFormat chat;
    uint64_t hash;
    TokState *state;             /* for tokenizer_encode(); created on first use */
};

void trie_init(Trie *t);
void trie_free(Trie *t);
void trie_add(Trie *t, const char *s, size_t n, int32_t tok);

/* After bpe, pre and added are filled: builds the tries and the special flags. */
void tokenizer_finish(Tokenizer *tok);

#endif
