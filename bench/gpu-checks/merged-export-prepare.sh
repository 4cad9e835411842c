#!/usr/bin/env bash
# Issue 18 item 2, step 1 of 2 — HERE (a machine with Node, node_modules and this checkout), before the GPU run.
# Makes .gpu/ (git-ignored) so that bench/gpu-checks/merged-export.sh runs on the GPU machine without
# node_modules or tsx:
#   .gpu/node.xz, .gpu/ort.tar.xz, .gpu/debs, .gpu/prelude.sh   ../shared/gpu/prepare.sh (Node + onnxruntime-node)
#   .gpu/cli/graft.mjs       the whole CLI bundled by esbuild (onnxruntime-node and electron left external)
#   .gpu/tok-tool.mjs        Graft's tokenizer as a command (bench/gpu-checks/tok-tool.ts)
#   .gpu/llamacpp/           llama.cpp's source tarball and run.sh (../shared/anchors/llamacpp)
# Then on the GPU machine, with carry [".gpu"]:  bash bench/gpu-checks/merged-export.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash ../shared/gpu/prepare.sh > /dev/null
mkdir -p .gpu/cli .gpu/llamacpp
BANNER="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
npx esbuild src-main/cli/main.ts --bundle --platform=node --format=esm --target=node20 --external:onnxruntime-node --external:electron \
  --outfile=.gpu/cli/graft.mjs --banner:js="$BANNER" --log-level=warning
npx esbuild bench/gpu-checks/tok-tool.ts --bundle --platform=node --format=esm --target=node20 --external:onnxruntime-node \
  --outfile=.gpu/tok-tool.mjs --banner:js="$BANNER" --log-level=warning
cp ../shared/anchors/llamacpp/run.sh ../shared/anchors/llamacpp/llamacpp-src.tar.xz .gpu/llamacpp/
# the bundle runs here as it will there (no tsx): a quick look at its help
node .gpu/cli/graft.mjs adapters export --help | grep -q merged-gguf
du -sh .gpu
