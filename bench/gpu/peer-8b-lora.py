"""PyTorch + PEFT peer of Graft's 8B QLoRA row (issue 13 item 5): Llama-3.1-8B shapes, random init, bf16 LoRA
r=16 on all 7 projections, AdamW, batch 1 x 1024. Prints one JSON line: tokens/s of 10 timed steps after 3
warm-ups and the peak memory PyTorch's allocator saw (torch.cuda.max_memory_allocated) and that CUDA reports
for the process (mem_get_info's used delta)."""
import json, time
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from peft import LoraConfig, get_peft_model

cfg = LlamaConfig(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                  num_key_value_heads=8, max_position_embeddings=8192, rope_theta=500000.0, tie_word_embeddings=False)
free0, total = torch.cuda.mem_get_info()
torch.manual_seed(0)
with torch.device("cuda"):
    torch.set_default_dtype(torch.bfloat16)
    m = LlamaForCausalLM(cfg)
torch.set_default_dtype(torch.float32)
lc = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], task_type="CAUSAL_LM")
pm = get_peft_model(m, lc)
pm.train()
opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=2e-4)
bs, seq = 1, 1024
x = torch.randint(0, cfg.vocab_size, (bs, seq), device="cuda")
for _ in range(3):
    pm(input_ids=x, labels=x).loss.backward(); opt.step(); opt.zero_grad()
torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
n = 10; t = time.time()
for _ in range(n):
    pm(input_ids=x, labels=x).loss.backward(); opt.step(); opt.zero_grad()
torch.cuda.synchronize(); dt = (time.time() - t) / n
free1, _ = torch.cuda.mem_get_info()
print(json.dumps({"peer": "pytorch+peft bf16 LoRA", "model": "llama3.1-8b shapes", "bs": bs, "seq": seq, "train_tok_s": round(bs * seq / dt), "step_ms": round(dt * 1000, 1),
                  "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2), "process_used_gib": round((free0 - free1) / 2**30, 2)}))
