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

#define STRATA_DEVICE_API_VERSION 1
#define STRATA_DEVICE_API_SYMBOL "strataDeviceApiV1"

typedef enum {
  strataPointerHost = 0,     /* CPU memory (pageable or pinned): the CPU may read and write it */
  strataPointerDevice = 1,   /* memory of one device: only the device and copies reach it */
  strataPointerManaged = 2,  /* managed memory: treated as device memory, as NCCL does */
} strataPointerKind;

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
} strataDeviceApi;

typedef const strataDeviceApi* (*strataDeviceApiEntry)(void);

#ifdef __cplusplus
}
#endif

#endif
