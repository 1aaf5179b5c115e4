/* Test fixture kernels with the fleettune kernel ABI (int32_t f(void* const* args)), for a
 * fixed matmul C[M,N] = A[M,K] * B[K,N]: a naive reference, a correct candidate with another
 * loop order, a wrong one, one that fails, and one that leaves half its output unwritten. */
#include <stdint.h>

enum { M = 16, K = 24, N = 8 };

int32_t matmul_reference(void* const* args) {
  const float* a = (const float*)args[0];
  const float* b = (const float*)args[1];
  float* c = (float*)args[2];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      float sum = 0.0f;
      for (int k = 0; k < K; ++k) sum += a[i * K + k] * b[k * N + j];
      c[i * N + j] = sum;
    }
  }
  return 0;
}

int32_t matmul_reordered(void* const* args) {
  const float* a = (const float*)args[0];
  const float* b = (const float*)args[1];
  float* c = (float*)args[2];
  for (int i = 0; i < M * N; ++i) c[i] = 0.0f;
  for (int i = 0; i < M; ++i) {
    for (int k = 0; k < K; ++k) {
      const float aik = a[i * K + k];
      for (int j = 0; j < N; ++j) c[i * N + j] += aik * b[k * N + j];
    }
  }
  return 0;
}

int32_t matmul_wrong(void* const* args) {
  matmul_reordered(args);
  ((float*)args[2])[5] += 0.5f;
  return 0;
}

int32_t matmul_fails(void* const* args) {
  (void)args;
  return 3;
}

int32_t matmul_half_written(void* const* args) {
  const float* a = (const float*)args[0];
  const float* b = (const float*)args[1];
  float* c = (float*)args[2];
  for (int i = 0; i < M / 2; ++i) {
    for (int j = 0; j < N; ++j) {
      float sum = 0.0f;
      for (int k = 0; k < K; ++k) sum += a[i * K + k] * b[k * N + j];
      c[i * N + j] = sum;
    }
  }
  return 0;
}

/* Computes the right answer but also writes one element past the end of its output. */
int32_t matmul_overruns(void* const* args) {
  matmul_reordered(args);
  ((float*)args[2])[M * N] = 1.0f;
  return 0;
}

/* Dereferences a null pointer: the sandbox must turn this into RUNTIME_ERROR. */
int32_t matmul_segfaults(void* const* args) {
  (void)args;
  volatile float* nowhere = 0;
  *nowhere = 1.0f;
  return 0;
}

/* Never returns: the sandbox must kill it and report TIMEOUT. */
int32_t matmul_hangs(void* const* args) {
  (void)args;
  volatile int forever = 1;
  while (forever) {
  }
  return 0;
}
