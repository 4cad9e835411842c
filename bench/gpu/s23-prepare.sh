#!/usr/bin/env bash
# HERE, before bench/gpu/s23-a.sh (session 23): decode-train-prepare.sh's .gpu/ (onnxruntime-node as npm installed
# it, 1.31.1 since this session) with ORT 1.30.0 beside it as .gpu/ort130.tar.xz, so one call times both versions.
# llama.cpp's material and the goldens stay here (the call runs neither): the two ORTs would pass the 64 MiB carry
# with them.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash bench/gpu/decode-train-prepare.sh > /dev/null
rm -rf .gpu/llamacpp .gpu/anchor_train.py .gpu/shared/fixtures.tar.xz
tmp=$(mktemp -d)
(cd "$tmp" && npm init -y > /dev/null && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 > /dev/null 2>&1)
mkdir -p "$tmp/pack/node_modules"
cp -r "$tmp/node_modules/onnxruntime-node" "$tmp/node_modules/onnxruntime-common" "$tmp/pack/node_modules/"
find "$tmp/pack/node_modules/onnxruntime-node/bin" -mindepth 2 -maxdepth 2 ! -name linux -exec rm -rf {} +
find "$tmp/pack/node_modules/onnxruntime-node/bin" -path '*linux/*' -mindepth 3 -maxdepth 3 ! -name x64 -exec rm -rf {} +
tar -C "$tmp/pack" -cJf .gpu/ort130.tar.xz node_modules
rm -rf "$tmp"
du -sh .gpu
