#!/usr/bin/env bash
# HERE, before bench/gpu/decode-train-a.sh and decode-train-b.sh: train-prepare.sh's .gpu/ (Node, ORT, the Vulkan
# loaders, the bench bundle, the CLI, the goldens, llama.cpp's source, PyTorch's scripts) with the tokenizer
# llama.cpp's model maker needs put back.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash bench/gpu/train-prepare.sh > /dev/null
rm -rf .gpu/llamacpp/tokenizer && cp -r ../shared/models/smollm2-135m-instruct-tokenizer .gpu/llamacpp/tokenizer
du -sh .gpu
