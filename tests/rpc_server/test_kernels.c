/* Test fixture kernels with the fleettune kernel ABI (int32_t f(void* const* args)), for a
 * fixed matmul C[M,N] = A[M,K] * B[K,N]: a naive reference, a correct candidate with another
 * loop order, a wrong one, one that fails, one that leaves half its output unwritten, and the
 * faulty kernels the sandbox must survive (below matmul_hangs). */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* ---- Faults (tests/rpc_server/sandbox_faults_test.cc, tests/integration/faults_test.cc) ---- */

/* Right answer, but one float written just before the output tensor. */
int32_t matmul_underruns(void* const* args) {
  matmul_reordered(args);
  ((float*)args[2])[-1] = 1.0f;
  return 0;
}

/* Right answer, computed before it scribbles on its input A (which it must treat as const). */
int32_t matmul_writes_input(void* const* args) {
  matmul_reordered(args);
  ((float*)args[0])[3] = 42.0f;
  return 0;
}

/* Right answer, but one float written 64 KiB past the end of the output: beyond any canary
 * zone, where a write lands in whatever memory follows the tensor. */
int32_t matmul_overruns_far(void* const* args) {
  matmul_reordered(args);
  ((float*)args[2])[M * N + 16 * 1024] = 1.0f;
  return 0;
}

/* abort() in the middle of the kernel. */
int32_t matmul_aborts(void* const* args) {
  (void)args;
  abort();
}

/* exit(0) instead of returning: the process ends "successfully" with no result. */
int32_t matmul_exits(void* const* args) {
  matmul_reordered(args);
  exit(0);
}

/* Scratch memory grown 64 MiB at a time (each block touched) up to 1 GiB, like a kernel whose
 * packing buffers are far too big; returns 1, as generated kernels do, when an allocation
 * fails, and the right answer when it got it all. */
int32_t matmul_exhausts_memory(void* const* args) {
  enum { kBlock = 64 << 20, kBlocks = 16 };
  char* blocks[kBlocks] = {0};
  int32_t code = 0;
  for (int i = 0; i < kBlocks; ++i) {
    blocks[i] = (char*)malloc(kBlock);
    if (blocks[i] == NULL) {
      code = 1;
      break;
    }
    memset(blocks[i], i, kBlock);
  }
  for (int i = 0; i < kBlocks; ++i) free(blocks[i]);
  if (code == 0) matmul_reordered(args);
  return code;
}

/* Writes the number `value` to the file FLEETTUNE_TEST_PID_FILE names, when it is set. */
static void WriteTestPidFile(long value) {
  const char* path = getenv("FLEETTUNE_TEST_PID_FILE");
  if (path == NULL) return;
  FILE* file = fopen(path, "w");
  if (file == NULL) return;
  fprintf(file, "%ld\n", value);
  fclose(file);
}

/* Right answer, but forks a child that outlives the kernel by 20 s (it holds every file the
 * kernel's process had open, the sandbox's result pipe included); its pid goes to
 * $FLEETTUNE_TEST_PID_FILE. */
int32_t matmul_forks(void* const* args) {
  pid_t child = fork();
  if (child == 0) {
    struct timespec rest = {20, 0};
    nanosleep(&rest, NULL);
    _exit(0);
  }
  WriteTestPidFile((long)child);
  matmul_reordered(args);
  return 0;
}

/* A thread that appends a byte to $FLEETTUNE_TEST_PID_FILE every 10 ms, forever; `arg`
 * points to a flag it sets after its first byte. */
static void* TickForever(void* arg) {
  const char* path = getenv("FLEETTUNE_TEST_PID_FILE");
  for (;;) {
    FILE* file = path != NULL ? fopen(path, "a") : NULL;
    if (file != NULL) {
      fputc('.', file);
      fclose(file);
    }
    __atomic_store_n((int*)arg, 1, __ATOMIC_RELEASE);
    struct timespec rest = {0, 10 * 1000 * 1000};
    nanosleep(&rest, NULL);
  }
  return NULL;
}

/* Right answer, but each call leaves a detached thread running (TickForever); the call
 * returns once the thread has ticked. */
int32_t matmul_leaves_thread(void* const* args) {
  static int ticked[64];
  static int calls = 0;
  int* flag = &ticked[calls++ % 64];
  pthread_t thread;
  if (pthread_create(&thread, NULL, TickForever, flag) == 0) {
    pthread_detach(thread);
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
      struct timespec rest = {0, 1000 * 1000};
      nanosleep(&rest, NULL);
    }
  }
  matmul_reordered(args);
  return 0;
}

/* Right answer, then a forged result on file descriptor 3 (the sandbox's result pipe): a
 * frame-less MeasureResult {status: OK, costs: [1e-9]} as the sandbox's old reply format
 * carried it ([u64 size][bytes]), then garbage. */
int32_t matmul_garbles_result(void* const* args) {
  matmul_reordered(args);
  /* field 3 (status) varint 1; field 4 (costs) fixed64 1e-9 */
  unsigned char forged[2 + 9] = {0x18, 0x01, 0x21};
  const double cost = 1e-9;
  memcpy(forged + 3, &cost, sizeof(cost));
  const uint64_t size = sizeof(forged);
  if (write(3, &size, sizeof(size)) < 0 || write(3, forged, sizeof(forged)) < 0) return 0;
  if (write(3, "garbage", 7) < 0) return 0;
  return 0;
}

/* The reference, only slow: sleeps `FLEETTUNE_TEST_SLOW_MS` (default 3000) ms first. */
int32_t matmul_slow_reference(void* const* args) {
  const char* text = getenv("FLEETTUNE_TEST_SLOW_MS");
  const long ms = text != NULL ? atol(text) : 3000;
  struct timespec rest = {ms / 1000, (ms % 1000) * 1000 * 1000};
  nanosleep(&rest, NULL);
  return matmul_reference(args);
}

/* Writes NaN into every element of its output. */
int32_t matmul_nan(void* const* args) {
  float* c = (float*)args[2];
  for (int i = 0; i < M * N; ++i) c[i] = NAN;
  return 0;
}

/* The right answer, except on a board started with FLEETTUNE_TEST_FAULTY_BOARD set (the
 * environment a board's sandbox workers inherit): there one element is off by 0.5, like a
 * board whose memory flips a bit. */
int32_t matmul_faulty_board(void* const* args) {
  matmul_reordered(args);
  if (getenv("FLEETTUNE_TEST_FAULTY_BOARD") != NULL) ((float*)args[2])[7] += 0.5f;
  return 0;
}

/* The right answer after sleeping 20 ms: a fast candidate, yet one whose timing runs out of
 * a budget of a few milliseconds. */
int32_t matmul_takes_20ms(void* const* args) {
  struct timespec rest = {0, 20 * 1000 * 1000};
  nanosleep(&rest, NULL);
  return matmul_reordered(args);
}

/* ---- Multi-candidate tasks (tests/rpc_server/multi_candidate_test.cc): kernels that pass
 * their check (their first call) and misbehave only when timed. Each loaded copy of the
 * library has its own call count. ---- */

static int timed_calls_crash = 0;
static int timed_calls_write = 0;

/* The right answer on its first call, a null pointer write on every later one. */
int32_t matmul_crashes_when_timed(void* const* args) {
  if (timed_calls_crash++ > 0) {
    volatile float* nowhere = 0;
    *nowhere = 1.0f;
  }
  return matmul_reordered(args);
}

/* The right answer, and from its second call on it also scribbles on its input B. */
int32_t matmul_writes_input_when_timed(void* const* args) {
  matmul_reordered(args);
  if (timed_calls_write++ > 0) ((float*)args[1])[2] = 7.0f;
  return 0;
}
