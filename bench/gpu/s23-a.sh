# GPU machine, fresh (carry [".gpu"] from s23-prepare.sh), ~9 min, nothing in the background (session 23's call A).
# 1) onnxruntime-node 1.31.1 against 1.30.0, one process each, alternating, a graph cache each: decode at 0.5B (the
#    base's one row, then the side-by-side rows), the EP's fp16 GEMM rate at training shapes, the 0.5B 8×512 step.
# 2) a 0.5B step against its depth (1, 6, 12, 24 layers) and its vocabulary (8,192): what a layer costs, and what a
#    step costs whatever its depth (embedding, LM head, argmax, the replay's own cost).
source bench/gpu/device-env.sh
L=$OUT/a.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
mkdir -p /tmp/ort130 && tar -xJf .gpu/ort130.tar.xz -C /tmp/ort130 && cp -r /tmp/gpu/node_modules/koffi /tmp/gpu/node_modules/@koromix /tmp/ort130/node_modules/ 2>/dev/null
# arm V: which onnxruntime-node the bundles resolve (node_modules here, NODE_PATH), and a graph cache of its own
arm() {
  local dir=/tmp/gpu/node_modules; [ "$1" = 130 ] && dir=/tmp/ort130/node_modules
  ln -sfn $dir node_modules
  export NODE_PATH=$dir GRAFT_GRAPH_CACHE=/tmp/graft-graphs-$1
  echo "== ort $(grep -m1 '"version"' $dir/onnxruntime-node/package.json | tr -dc '0-9.') at $(( $(date +%s) - t )) s: ${2:-}" >> $L
}
timeout 120 node $E models qwen2.5-0.5b 'qwen2.5-0.5b~l1' 'qwen2.5-0.5b~l6' 'qwen2.5-0.5b~l12' 'qwen2.5-0.5b~v8192' > /dev/null 2>&1
echo "models at $(( $(date +%s) - t ))" >> $L
for r in 1 2; do
  for v in 131 130; do
    left 200 || break
    arm $v "decode 0.5B, base one row, round $r"
    DECODE_QUICK=2 timeout 60 node $E decode qwen2.5-0.5b 2>&1 | grep -v Warning >> $L
  done
done
for v in 131 130; do
  left 260 || break
  arm $v "GEMM rate"
  timeout 60 node $E gemm 4096,896,4864 4096,1536,8960 2>&1 | grep -v Warning >> $L
done
for v in 131 130; do
  left 330 || break
  arm $v "decode 0.5B, every kind of rows"
  DECODE_QUICK=1 timeout 70 node $E decode qwen2.5-0.5b 2>&1 | grep -v Warning >> $L
done
arm 131 "depth and vocabulary"
for m in 'qwen2.5-0.5b~l1' 'qwen2.5-0.5b~l6' 'qwen2.5-0.5b~l12' 'qwen2.5-0.5b~v8192'; do
  left 420 || break
  DECODE_QUICK=2 timeout 40 node $E decode $m 2>&1 | grep -v Warning >> $L
done
for v in 131 130; do
  left 480 || break
  arm $v "0.5B step 8x512 fp16"
  timeout 60 node $E step qwen2.5-0.5b 8x512 fp16 2>&1 | grep -v Warning | tail -3 >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '"rounds"' $L | cut -c1-600
