/*
 * Strata public C API.
 *
 * NCCL-shaped: porting code from NCCL is a rename (nccl -> strata). Result codes, data types and
 * reduction ops carry the same numeric values as NCCL 2.28 (plus strataTimeout, which NCCL 2.30 adds
 * with the same value). The header is C11-clean and usable from C++.
 *
 * Buffers are host memory today. The `stream` argument is an opaque pointer: NULL means "complete
 * before returning"; a stream made by strataStreamCreate queues the operation on a host worker. The
 * same argument carries a cudaStream_t for device buffers, so signatures never change.
 */
#ifndef STRATA_STRATA_H
#define STRATA_STRATA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STRATA_MAJOR 0
#define STRATA_MINOR 1
#define STRATA_PATCH 0
#define STRATA_VERSION(X, Y, Z) ((X) * 10000 + (Y) * 100 + (Z))
#define STRATA_VERSION_CODE STRATA_VERSION(STRATA_MAJOR, STRATA_MINOR, STRATA_PATCH)

typedef enum {
  strataSuccess = 0,
  strataUnhandledCudaError = 1,
  strataSystemError = 2,
  strataInternalError = 3,
  strataInvalidArgument = 4,
  strataInvalidUsage = 5,
  strataRemoteError = 6,
  strataInProgress = 7,
  strataTimeout = 8,
  strataNumResults = 9
} strataResult_t;

typedef enum {
  strataInt8 = 0,
  strataChar = 0,
  strataUint8 = 1,
  strataInt32 = 2,
  strataInt = 2,
  strataUint32 = 3,
  strataInt64 = 4,
  strataUint64 = 5,
  strataFloat16 = 6,
  strataHalf = 6,
  strataFloat32 = 7,
  strataFloat = 7,
  strataFloat64 = 8,
  strataDouble = 8,
  strataBfloat16 = 9,
  strataFloat8e4m3 = 10,
  strataFloat8e5m2 = 11,
  strataNumTypes = 12
} strataDataType_t;

typedef enum {
  strataSum = 0,
  strataProd = 1,
  strataMax = 2,
  strataMin = 3,
  strataAvg = 4,
  strataNumOps = 5,
  strataMaxRedOp = 0x7fffffff
} strataRedOp_t;

/* 128 opaque bytes: the root's address and a random 128-bit secret. Made once, shared out of band. */
#define STRATA_UNIQUE_ID_BYTES 128
typedef struct {
  char internal[STRATA_UNIQUE_ID_BYTES];
} strataUniqueId;

typedef struct strataComm* strataComm_t;
typedef void* strataStream_t;

#define STRATA_CONFIG_UNDEF_INT (-2147483647 - 1)
#define STRATA_CONFIG_MAGIC 0x57a7a0c0u
#define STRATA_SPLIT_NOCOLOR (-1)

/* Grows by appending fields: `size`, `magic` and `version` let the library know what the caller
 * compiled against. Always start from STRATA_CONFIG_INITIALIZER. */
typedef struct {
  size_t size;
  unsigned int magic;
  unsigned int version;
  int blocking;         /* 1 (default): calls complete before returning. 0 is not supported yet. */
  int timeoutMs;        /* deadline of every blocking wait; default STRATA_TIMEOUT_MS or 300000 */
  const char* commName; /* shown in log lines; may be NULL */
} strataConfig_t;

#define STRATA_CONFIG_INITIALIZER                                                      \
  {                                                                                     \
    sizeof(strataConfig_t), STRATA_CONFIG_MAGIC, STRATA_VERSION_CODE,                   \
        STRATA_CONFIG_UNDEF_INT, STRATA_CONFIG_UNDEF_INT, NULL                          \
  }

/* ---- Versions and errors ---- */
strataResult_t strataGetVersion(int* version);
const char* strataGetErrorString(strataResult_t result);
/* The last detailed error message of this thread's most recent failed call on `comm` (or of any
 * call when comm is NULL). Never NULL; "" when there was none. */
const char* strataGetLastError(strataComm_t comm);
strataResult_t strataCommGetAsyncError(strataComm_t comm, strataResult_t* asyncError);

/* ---- Communicators ---- */
strataResult_t strataGetUniqueId(strataUniqueId* uniqueId);
strataResult_t strataCommInitRank(strataComm_t* comm, int nranks, strataUniqueId commId, int rank);
strataResult_t strataCommInitRankConfig(strataComm_t* comm, int nranks, strataUniqueId commId,
                                        int rank, strataConfig_t* config);
/* Rank, size and unique id from the launcher's environment: strata-run, mpirun (Open MPI),
 * Slurm srun, or torchrun-style MASTER_ADDR/MASTER_PORT/RANK/WORLD_SIZE. */
strataResult_t strataCommInitFromEnv(strataComm_t* comm);
strataResult_t strataCommSplit(strataComm_t comm, int color, int key, strataComm_t* newcomm,
                               strataConfig_t* config);
strataResult_t strataCommFinalize(strataComm_t comm);
strataResult_t strataCommDestroy(strataComm_t comm);
strataResult_t strataCommAbort(strataComm_t comm);
strataResult_t strataCommCount(const strataComm_t comm, int* count);
strataResult_t strataCommUserRank(const strataComm_t comm, int* rank);

/* ---- Host streams ---- */
strataResult_t strataStreamCreate(strataStream_t* stream);
strataResult_t strataStreamSynchronize(strataStream_t stream);
strataResult_t strataStreamDestroy(strataStream_t stream);

/* ---- Collectives (in-place rules as NCCL's: see README) ---- */
strataResult_t strataAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                               strataDataType_t datatype, strataRedOp_t op, strataComm_t comm,
                               strataStream_t stream);
strataResult_t strataBroadcast(const void* sendbuff, void* recvbuff, size_t count,
                               strataDataType_t datatype, int root, strataComm_t comm,
                               strataStream_t stream);
strataResult_t strataReduce(const void* sendbuff, void* recvbuff, size_t count,
                            strataDataType_t datatype, strataRedOp_t op, int root,
                            strataComm_t comm, strataStream_t stream);
strataResult_t strataAllGather(const void* sendbuff, void* recvbuff, size_t sendcount,
                               strataDataType_t datatype, strataComm_t comm,
                               strataStream_t stream);
strataResult_t strataReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount,
                                   strataDataType_t datatype, strataRedOp_t op, strataComm_t comm,
                                   strataStream_t stream);
strataResult_t strataAllToAll(const void* sendbuff, void* recvbuff, size_t count,
                              strataDataType_t datatype, strataComm_t comm, strataStream_t stream);
/* Counts and displacements are in elements, one entry per rank. */
strataResult_t strataAllToAllv(const void* sendbuff, const size_t sendcounts[],
                               const size_t sdispls[], void* recvbuff, const size_t recvcounts[],
                               const size_t rdispls[], strataDataType_t datatype,
                               strataComm_t comm, strataStream_t stream);
strataResult_t strataGather(const void* sendbuff, void* recvbuff, size_t count,
                            strataDataType_t datatype, int root, strataComm_t comm,
                            strataStream_t stream);
strataResult_t strataScatter(const void* sendbuff, void* recvbuff, size_t count,
                             strataDataType_t datatype, int root, strataComm_t comm,
                             strataStream_t stream);
strataResult_t strataSend(const void* sendbuff, size_t count, strataDataType_t datatype, int peer,
                          strataComm_t comm, strataStream_t stream);
strataResult_t strataRecv(void* recvbuff, size_t count, strataDataType_t datatype, int peer,
                          strataComm_t comm, strataStream_t stream);
strataResult_t strataBarrier(strataComm_t comm, strataStream_t stream);

/* ---- Groups: calls between these run as one; sends/receives to different peers progress
 * together. Errors of grouped calls are returned by strataGroupEnd. ---- */
strataResult_t strataGroupStart(void);
strataResult_t strataGroupEnd(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STRATA_STRATA_H */
