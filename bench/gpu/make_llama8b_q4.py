# The 8B peer for decode on a 4-bit base, written straight as a Q4_K_M GGUF (llama.cpp's gguf-py): random codes
# under small block scales, laid out as llama-quantize's Q4_K_M lays out a Llama (output.weight and, in the layers
# use_more_bits picks, attn_v and ffn_down in Q6_K; everything else of 2-D in Q4_K; norms F32). llama-bench times
# the same kernels on the same bytes per weight as on a quantized checkpoint, and the file takes seconds instead
# of make_llama8b.py's bf16 model, 16 GB F16 GGUF and quantization (~8 minutes on the GPU machine).
#   python3 make_llama8b_q4.py OUT.gguf LLAMA_CPP_SRC [tiny]   (tiny: small shapes, to check the file loads)
import sys, time
import numpy as np
out, src = sys.argv[1], sys.argv[2]
sys.path.insert(0, f"{src}/gguf-py")
import gguf  # noqa: E402

tiny = len(sys.argv) > 3 and sys.argv[3] == "tiny"
V, D, F, L, H, KV = (1024, 256, 512, 4, 4, 2) if tiny else (128256, 4096, 14336, 32, 32, 8)
hd = D // H
Q4K, Q6K = gguf.GGMLQuantizationType.Q4_K, gguf.GGMLQuantizationType.Q6_K
rng = np.random.default_rng(0)
# Each block's fp16 scales: small, so sums stay finite whatever the random codes (d, dmin of Q4_K; d of Q6_K).
scale = np.frombuffer(np.float16(0.002).tobytes(), dtype=np.uint8)


def more_bits(i: int, n: int) -> bool:  # llama-quant.cpp's use_more_bits
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def blocks(rows: int, cols: int, kind) -> np.ndarray:
    size, per = gguf.GGML_QUANT_SIZES[kind]
    b = rng.integers(0, 256, size=(rows, cols // size, per), dtype=np.uint8)
    if kind == Q4K:
        b[:, :, 0:2] = scale  # d
        b[:, :, 2:4] = scale  # dmin
    else:
        b[:, :, per - 2:per] = scale  # d sits last in a Q6_K block
        b[:, :, per - 18:per - 2] &= 0x3F  # int8 sub-block scales kept small and positive
    return b.reshape(rows, -1)


tensors = [("token_embd.weight", V, D, Q4K), ("output_norm.weight", D, 0, None), ("output.weight", V, D, Q6K)]
for i in range(L):
    p = f"blk.{i}."
    tensors += [(p + "attn_norm.weight", D, 0, None), (p + "ffn_norm.weight", D, 0, None),
                (p + "attn_q.weight", D, D, Q4K), (p + "attn_k.weight", KV * hd, D, Q4K),
                (p + "attn_v.weight", KV * hd, D, Q6K if more_bits(i, L) else Q4K), (p + "attn_output.weight", D, D, Q4K),
                (p + "ffn_gate.weight", F, D, Q4K), (p + "ffn_up.weight", F, D, Q4K),
                (p + "ffn_down.weight", D, F, Q6K if more_bits(i, L) else Q4K)]

t = time.time()
w = gguf.GGUFWriter(out, "llama")
w.add_name("random Llama-3.1-8B shapes" if not tiny else "random tiny Llama")
w.add_context_length(8192); w.add_embedding_length(D); w.add_block_count(L); w.add_feed_forward_length(F)
w.add_head_count(H); w.add_head_count_kv(KV); w.add_rope_freq_base(5e5); w.add_layer_norm_rms_eps(1e-5)
w.add_rope_dimension_count(hd); w.add_vocab_size(V); w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
# A SentencePiece-style vocabulary: llama.cpp looks up the byte tokens (<0x0A> for the line feed) when it loads.
tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
tokens += [f"\u2581t{i}" for i in range(V - len(tokens))]
types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
types += [gguf.TokenType.NORMAL] * (V - len(types))
w.add_tokenizer_model("llama"); w.add_token_list(tokens); w.add_token_scores([0.0] * V); w.add_token_types(types)
w.add_bos_token_id(1); w.add_eos_token_id(2); w.add_unk_token_id(0)
for name, rows, cols, kind in tensors:
    if kind is None:
        w.add_tensor_info(name, (rows,), np.dtype(np.float32), rows * 4)
    else:
        size, per = gguf.GGML_QUANT_SIZES[kind]
        w.add_tensor_info(name, (rows, cols // size * per), np.dtype(np.uint8), rows * (cols // size) * per, raw_dtype=kind)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_ti_data_to_file()
for name, rows, cols, kind in tensors:
    w.write_tensor_data(np.ones(rows, dtype=np.float32) if kind is None else blocks(rows, cols, kind))
w.close()
print(f"{out}: {len(tensors)} tensors in {time.time() - t:.0f}s", flush=True)
