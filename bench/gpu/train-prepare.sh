#!/usr/bin/env bash
# HERE, before bench/gpu/train-a.sh and train-b.sh: makes .gpu/ with what both calls need and nothing else, so
# that carry [".gpu"] stays under the device's 64 MiB: Node, onnxruntime-node and the Vulkan loaders, the bench
# bundle, the bundled CLI and tokenizer tool, llama.cpp's source, PyTorch's anchor script, the goldens.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash bench/gpu/prepare.sh > /dev/null
bash bench/gpu-checks/merged-export-prepare.sh > /dev/null
mkdir -p .gpu/shared/fixtures
for f in hf-reference hf-reference-more peft-methods; do rm -rf .gpu/shared/fixtures/$f; cp -r ../shared/fixtures/$f .gpu/shared/fixtures/; done
# packed (11 MB → 4 MB): with them unpacked the carry passed 64 MiB in session 12; verify-gpu.sh unpacks them
(cd .gpu/shared && tar -cJf fixtures.tar.xz fixtures && rm -rf fixtures)
# Not used by these two calls (other checks' material): left out of the carry.
rm -rf .gpu/job .gpu/graft-job.cjs .gpu/matvec.mjs .gpu/shared/anchors .gpu/llamacpp/tokenizer
# The device's copy of the tree may carry a stale .git: results name the commit the bundle was built from.
git rev-parse --short HEAD > .gpu/commit
du -sh .gpu
