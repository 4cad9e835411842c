# GPU machine, one call: the engine against every golden on the WebGPU EP (CPU fallback disabled), and the
# Python-side checks of the other issues' GPU scripts that need no Node packages beyond the bundled CLI.
# Needs .gpu/ from bench/gpu/prepare.sh plus .gpu/cli/graft.mjs (esbuild bundle of src-main/cli/main.ts),
# .gpu/shared/fixtures/{hf-reference,hf-reference-more,peft-methods} and .gpu/shared/anchors/llamacpp.
source .gpu/prelude.sh
ln -sfn /tmp/gpu/node_modules node_modules   # the ESM bundle resolves onnxruntime-node from here
export GRAFT_GRAPH_CACHE=/tmp/graft-graphs
source bench/gpu/verify-gpu.sh
tail -1 $V
# Issue 17: llama.cpp's converter on the new families' fixtures (Python only).
mkdir -p /tmp/gg && SHARED=.gpu/shared OUT=/tmp/gg timeout 60 bash bench/gpu-checks/more-families-gguf.sh > $OUT/more-gguf.log 2>&1; echo "more-gguf rc $?" >> $OUT/more-gguf.log
tar -C /tmp/gg -czf $OUT/more-families-gguf.tgz . 2>/dev/null; tail -3 $OUT/more-gguf.log
# Issue 19: the job bundle (.gpu/job from bench/gpu-checks/job-bundle-prepare.sh) on one GPU under accelerate.
mkdir -p /tmp/job && OUT=/tmp/job timeout 200 bash bench/gpu-checks/job-bundle-1gpu.sh > $OUT/job-1gpu.log 2>&1; echo "job-1gpu rc $?" >> $OUT/job-1gpu.log
tar -C /tmp/job -czf $OUT/job-1gpu.tgz . 2>/dev/null; tail -4 $OUT/job-1gpu.log
