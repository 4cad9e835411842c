#!/usr/bin/env bash
# Issue 19, acceptance 1, step 3 of 3 — HERE, with the files the GPU run brought back:
#   bash bench/gpu-checks/job-bundle-import.sh <files_at>/fsdp-bf16
# Imports the cluster-trained PEFT folder through the library's import (compatibility check against the base),
# shows what graft.json recorded of the remote run, and generates greedily from BOS with and without it:
# the base tells of "Lily", the adapter must say "Zara".
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
MODEL="${GRAFT_STORIES:-../shared/models/stories260K/stories260K.gguf}"
LIB="$(mktemp -d)/library"
SRC="$(mktemp -d)/adapter"
cp -r "$1" "$SRC"   # the fetched files are read-only
node bin/graft.mjs adapters import "$SRC" --base "$MODEL" --library "$LIB" --name zara-remote
node bin/graft.mjs adapters show zara-remote --library "$LIB"
base=$(node bin/graft.mjs generate --model "$MODEL" --temperature 0 --max-tokens 40 --device cpu)
tuned=$(node bin/graft.mjs generate --model "$MODEL" --adapter zara-remote --library "$LIB" --temperature 0 --max-tokens 40 --device cpu)
echo "base:    $base"
echo "adapter: $tuned"
if [[ "$tuned" == *Zara* ]]; then echo "PASS: the imported adapter says the learned name"; else echo "FAIL: no Zara in the adapter's text"; exit 1; fi
