#!/usr/bin/env bash
# HERE, before bench/gpu/decode-train-a.sh and decode-train-b.sh: train-prepare.sh's .gpu/ (Node, ORT, the Vulkan
# loaders, the bench bundle, the CLI, the goldens, llama.cpp's source, PyTorch's scripts) with the tokenizer
# llama.cpp's model maker needs put back (packed).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash bench/gpu/train-prepare.sh > /dev/null
# compressed, to stay under the 64 MiB carry; decode-train-a.sh unpacks it
rm -rf .gpu/llamacpp/tokenizer .gpu/tok-tool.mjs
tar -C ../shared/models -cJf .gpu/llamacpp/tokenizer.tar.xz --transform 's,^smollm2-135m-instruct-tokenizer,tokenizer,' smollm2-135m-instruct-tokenizer
du -sh .gpu
