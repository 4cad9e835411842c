# Sourced first by the device scripts (train-*.sh, decode-train-*.sh): Node, ORT and the Vulkan loaders
# (.gpu/prelude.sh), onnxruntime-node and the memory probe's FFI (koffi) where the bundles resolve them, the
# engine's folders on the machine, and the bench bundle as $E.
source .gpu/prelude.sh
[ -d /tmp/gpu/node_modules/koffi ] || tar -xJf .gpu/koffi.tar.xz -C /tmp/gpu/node_modules
ln -sfn /tmp/gpu/node_modules node_modules   # the ESM bundles resolve onnxruntime-node from here
export GRAFT_ROOT=$PWD GRAFT_SHARED=$PWD/.gpu/shared GRAFT_BENCH_CACHE=/tmp/bm GRAFT_GRAPH_CACHE=/tmp/graft-graphs
E=.gpu/gpu-explore.cjs
# left N: whether fewer than N seconds of the call have passed ($t: the call's start, set by the script)
left() { [ $(( $(date +%s) - t )) -lt $1 ]; }
