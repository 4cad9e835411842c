/* Test harness: runs ggml's reference quantizers (ggml-quants.c from the llama.cpp source) on float32 input.
 * Usage: quant-ref N < floats.f32 > blocks   (writes Q8_0, then Q4_K, then Q6_K of the N values). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void quantize_row_q8_0_ref(const float * x, void * y, int64_t k);
void quantize_row_q4_K_ref(const float * x, void * y, int64_t k);
void quantize_row_q6_K_ref(const float * x, void * y, int64_t k);

/* ggml-quants.c refers to these for its other paths; the reference quantizers never call them. */
void ggml_abort(const char * file, int line, const char * fmt, ...) { (void)file; (void)line; (void)fmt; abort(); }
size_t ggml_row_size(int type, int64_t ne) { (void)type; (void)ne; abort(); }
const char * ggml_type_name(int type) { (void)type; return "?"; }
size_t ggml_type_size(int type) { (void)type; abort(); }

int main(int argc, char ** argv) {
  if (argc < 2) return 2;
  int n = atoi(argv[1]);
  float * x = malloc((size_t)n * 4);
  unsigned char * b = calloc((size_t)n, 2);
  if (fread(x, 4, n, stdin) != (size_t)n) return 3;
  quantize_row_q8_0_ref(x, b, n); fwrite(b, 1, n / 32 * 34, stdout);
  quantize_row_q4_K_ref(x, b, n); fwrite(b, 1, n / 256 * 144, stdout);
  quantize_row_q6_K_ref(x, b, n); fwrite(b, 1, n / 256 * 210, stdout);
  return 0;
}
