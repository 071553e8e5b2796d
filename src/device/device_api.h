/*
 * The C interface between libstrata and a device module: the shared object that holds every call
 * into a GPU runtime (libstrata_cuda.so, built with nvcc; a CPU stand-in in the tests). libstrata
 * loads it with dlopen, so libstrata itself neither links nor needs a GPU runtime or driver.
 *
 * A module exports one function, `strataDeviceApiV1`, returning a table of the calls below. Every
 * call returns 0 on success or the runtime's error code, which `errorString` names. `stream` is the
 * runtime's stream handle (cudaStream_t), NULL its default stream. Plain C: the module may be built
 * by another compiler.
 */
#ifndef STRATA_DEVICE_API_H
#define STRATA_DEVICE_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STRATA_DEVICE_API_VERSION 2
#define STRATA_DEVICE_API_SYMBOL "strataDeviceApiV1"

typedef enum {
  strataPointerHost = 0,     /* CPU memory (pageable or pinned): the CPU may read and write it */
  strataPointerDevice = 1,   /* memory of one device: only the device and copies reach it */
  strataPointerManaged = 2,  /* managed memory: treated as device memory, as NCCL does */
} strataPointerKind;

#define STRATA_DEVICE_IPC_HANDLE_BYTES 64

typedef struct {
  unsigned version; /* STRATA_DEVICE_API_VERSION */
  const char* name; /* "CUDA runtime 13000", for logs */

  /* Devices this process can use; < 0: none usable, with the reason in `why`. */
  int (*deviceCount)(char* why, size_t whyBytes);
  int (*getDevice)(int* device);
  int (*pointerKind)(const void* ptr, int* kind, int* device);

  /* Pinned host memory the device can read and write (mapped). `deviceView` is the address by
   * which device code reaches it. */
  int (*hostAlloc)(void** ptr, void** deviceView, size_t bytes);
  int (*hostFree)(void* ptr);

  /* Stream-ordered work. */
  int (*copyAsync)(void* dst, const void* src, size_t bytes, void* stream);
  int (*hostCallback)(void* stream, void (*fn)(void*), void* arg);
  /* The stream waits until the 64-bit counter (by its deviceView) reaches `target`. */
  int (*waitCounter)(void* stream, const volatile uint64_t* counterDeviceView, uint64_t target);
  /* dst[i] = a[i] op b[i] for `count` elements of strataDataType_t `dtype`, strataRedOp_t `op`
   * (avg: sum here, the caller divides by scaling). */
  int (*reduce)(void* dst, const void* a, const void* b, size_t count, int dtype, int op, void* stream);
  int (*streamSynchronize)(void* stream);

  const char* (*errorString)(int code);

  /* --- version 2: ranks of one host reading each other's device memory (cuda_ipc) --- */

  /* Who `device` is, the same text in every process that sees it, and different for two MIG
   * instances of one GPU (its UUID). */
  int (*deviceIdentity)(int device, char* out, size_t outBytes);
  /* Memory of `device` (whatever the calling thread's current device), for the library's scratch. */
  int (*deviceAlloc)(int device, void** ptr, size_t bytes);
  int (*deviceFree)(void* ptr);
  /* An inter-process handle (STRATA_DEVICE_IPC_HANDLE_BYTES) of the allocation holding `ptr`, and
   * the offset of `ptr` in it. */
  int (*ipcHandle)(const void* ptr, void* handle, size_t* offset);
  /* The allocation of another process's handle, mapped into this one for `device` (its base
   * address), whatever the calling thread's current device. */
  int (*ipcOpen)(int device, const void* handle, void** base);
  int (*ipcClose)(int device, void* base);
  /* dst[i] = src_0[i] op src_1[i] op ... src_{n-1}[i], combined in that order, each step rounded as
   * `reduce` rounds; `average` then divides by n as the host does. The sources are read when the
   * kernel runs, from `table` (mapped pinned memory, by its device view): table[0] = n, table[1 +
   * k] = the address of src_k; n = 0 leaves dst alone (an operation that failed before it
   * filled the table). */
  int (*reduceTable)(void* dst, const volatile uint64_t* table, size_t count, int dtype, int op, int average,
                     void* stream);
  /* Copies n sources into dst: table[0] = n (0: nothing), then per source k its address
   * table[1 + 3k], where it lands, table[2 + 3k] bytes into dst, and its size table[3 + 3k]. At
   * most `maxSources` sources of at most `maxBytes` each (they size the launch). */
  int (*copyTable)(void* dst, const volatile uint64_t* table, size_t maxBytes, int maxSources, void* stream);
} strataDeviceApi;

typedef const strataDeviceApi* (*strataDeviceApiEntry)(void);

#ifdef __cplusplus
}
#endif

#endif
