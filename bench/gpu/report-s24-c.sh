# Rebuilds bench/results/gpu-vs-peers-2026-12-04-s24-c.json (session 24's call C) from its raw logs, with session 23's
# call B verify-reference (onnxruntime-node 1.31.1; no engine change since), the dispatch counts
# (bench/decode-dispatches.ts) and the latest 0.5B op-by-op profile (session 21's).
REPORT_SUFFIX=-s24-c REPORT_CALLS=C,C REPORT_PRECISION=fp16 REPORT_VERIFY_DIR=bench/results/raw/s23-call-b \
REPORT_DISPATCHES=bench/results/decode-dispatches-2026-12-04.json \
REPORT_PROFILE='bench/results/decode-fp16-h200-2026-12-04.json#profile_G' \
REPORT_WHAT="Session 24's call C (AB='chain-sampled-ab qwen2.5-0.5b' bash bench/gpu/decode-all-one-call.sh, bundle 7f36849, fresh machine): the engine as session 23 left it (onnxruntime-node 1.31.1; greedy and device-drawn chains growing 8, 16, 32 steps between reads, in rounds over 8 captures). Graft's rows ran beside llama.cpp's CUDA build (pinned to other cores), llama.cpp's after it with nothing beside. The 8B's first start took 112 s (96 s in session 23's call D) and left no time for the 1.5B 4-bit row, nor for the control." \
REPORT_NOTE="verify_reference_gpu: session 23's call B (bench/gpu/s23-b.sh, bundle 8d00505, ORT 1.31.1), 12/12; the engine's graphs did not change since. The A/B slot: chains of up to 32 steps against 8, greedy and the Chat's sampling drawn on the device, under the build's load. dispatches: counted from the graphs of this code (bench/decode-dispatches.ts). profile: session 21's call G (fp16, 0.5B, 4 rows with adapters). Calls A and B of this session (a plain one-row MatMul under ORT 1.31.1; one-row projections as Mul + ReduceSum): docs/gpu-speed.md, twenty-second pass." \
npx tsx bench/gpu/report-decode.ts bench/results/raw/s24-call-c bench/results/raw/s24-call-c 7f36849
