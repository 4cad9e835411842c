#!/usr/bin/env bash
# Prepares .gpu/ for a run on the GPU machine (see ../shared/gpu/README.md): node, Vulkan loaders,
# onnxruntime-node, the shared fixtures, and the engine + benchmarks bundled into one CJS file.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash ../shared/gpu/prepare.sh >/dev/null
mkdir -p .gpu/shared/models .gpu/shared/fixtures
cp -r ../shared/models/stories260K .gpu/shared/models/
cp -r ../shared/fixtures/hf-reference .gpu/shared/fixtures/
npx esbuild bench/gpu-run.ts --bundle --platform=node --format=cjs --target=node20 --external:onnxruntime-node --outfile=.gpu/graft-gpu.cjs --log-level=warning
du -sh .gpu
