/* Text data for `r1 pretrain`: loads the tokenizer, checks that its vocabulary fits the model
 * config, and makes sure the token cache holds the corpus (tokcache.h: tokenized once, rebuilt
 * when the files or the tokenizer change). Also names the tokenizer files that go into every
 * checkpoint and the final model folder (tokenizer.json, tokenizer_config.json). */
#ifndef R1_TRAIN_PRETRAIN_DATA_H
#define R1_TRAIN_PRETRAIN_DATA_H

#include "base/error.h"
#include "model/config.h"
#include "train/checkpoint.h"
#include "train/tokcache.h"

typedef struct PretrainData {
    TokCacheInfo info;
    ModelFile files[2];     /* tokenizer.json and tokenizer_config.json for model folders */
    int n_files;
    char *owned;            /* the tokenizer_config.json path, allocated here */
} PretrainData;

/* tokenizer_path: tokenizer.json. cache_path: the token cache. out_dir: where a generated
 * tokenizer_config.json goes (OUT/data/) when none lies next to tokenizer.json. Errors before
 * any work: a tokenizer vocabulary larger than cfg->vocab_size, an EOS id outside it. */
int pretrain_prepare_data(PretrainData *d, const char *tokenizer_path, const char *const *files,
                          int n_files, const char *cache_path, const ModelConfig *cfg, int skip_bad,
                          const char *out_dir, Err *e);
void pretrain_data_free(PretrainData *d);

#endif
