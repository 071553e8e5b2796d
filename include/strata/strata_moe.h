/*
 * Strata MoE expert-parallel communication: routing layout, dispatch and combine (and their
 * backward passes) on any Strata communicator, host memory included.
 *
 * Experts are split evenly over the ranks: expert e lives on rank e / (numExperts / nranks), as
 * local expert e % (numExperts / nranks). A token's route is its row of topk_idx ([tokens x k],
 * int64, -1 = no expert).
 *
 *   strataMoeHandleCreate   (collective) routes the tokens, applies the capacity factor, and
 *                           exchanges counts and expert ids; afterwards the receive sizes are known.
 *   strataMoeDispatch       (collective) sends each token's hidden row ONCE to every rank that hosts
 *                           one of its experts, with its top-k weights; the receiver gets the rows
 *                           grouped by source rank (source order, then token order) and each row's
 *                           expert ids rewritten to local ids (-1 for experts on other ranks).
 *   strataMoeCombine        (collective) sends expert outputs back along the same routes and sums
 *                           them into the original token order. Weights: either the caller has
 *                           applied them (one row per received token, summed as is, as DeepEP's
 *                           combine), or Strata applies them (one row per received token and
 *                           top-k slot, weighted by the dispatched weights and summed).
 *   strataMoeDispatchBackward = a combine of gradients; strataMoeCombineBackward = a dispatch of
 *                           gradients, both along the handle.
 *
 * Every call takes a stream: NULL completes before returning; a Strata host stream queues it in
 * order with the stream's collectives. A handle runs one operation at a time (it keeps staging
 * buffers between calls): queue a handle's operations on one stream, and destroy it only after
 * they finished.
 */
#ifndef STRATA_STRATA_MOE_H
#define STRATA_STRATA_MOE_H

#include <strata/strata.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct strataMoeHandle* strataMoeHandle_t;

typedef struct {
  /* Each local expert's received-token count is reported rounded up to a multiple of this
   * (grouped GEMMs want aligned groups); >= 1. */
  int expertAlignment;
  /* 0: no limit. Otherwise each expert accepts at most ceil(tokens * k / experts * factor) of a
   * rank's tokens, earliest tokens first; later (token, expert) pairs are dropped (their weight
   * does not travel, their id reads -1) and counted in strataMoeHandleInfo.droppedPairs. */
  float capacityFactor;
  /* Hierarchical dispatch (a token crosses the network once per remote host): -1 automatic,
   * 0 off, 1 on. STRATA_MOE_HIERARCHICAL=0|1 overrides. */
  int hierarchical;
} strataMoeConfig;

#define STRATA_MOE_CONFIG_INIT {1, 0.0f, -1}

/* The routing of this rank's tokens, computed locally (no communication, no capacity limit).
 * Every output may be NULL. tokensPerRank[nranks] counts each token once per rank however many of
 * its experts live there; tokensPerHost[numHosts] once per host; tokensPerExpert[numExperts]
 * counts (token, expert) pairs; isTokenInRank[numTokens * nranks] is 1 where token t goes to rank r. */
strataResult_t strataMoeLayout(const int64_t* topkIdx, size_t numTokens, int topK, int numExperts,
                               strataComm_t comm, size_t* tokensPerRank, size_t* tokensPerHost,
                               size_t* tokensPerExpert, uint8_t* isTokenInRank, int* numHosts);

/* Collective over comm. config may be NULL (STRATA_MOE_CONFIG_INIT). */
strataResult_t strataMoeHandleCreate(const int64_t* topkIdx, size_t numTokens, int topK,
                                     int numExperts, const strataMoeConfig* config,
                                     strataComm_t comm, strataMoeHandle_t* handle);

typedef struct {
  size_t numTokens;        /* this rank's tokens (the dispatch input rows) */
  size_t numRecvTokens;    /* rows this rank receives (dispatch output, combine input) */
  int topK;
  int numLocalExperts;
  size_t droppedPairs;     /* (token, expert) pairs of this rank dropped by the capacity factor */
  int hierarchical;        /* 1 when dispatch forwards through one rank per remote host */
  size_t rowsToOtherHosts; /* rows this rank's dispatch puts on the network (to other hosts) */
} strataMoeHandleInfo;

strataResult_t strataMoeHandleGetInfo(strataMoeHandle_t handle, strataMoeHandleInfo* info);
/* recvTokensPerExpert[numLocalExperts]: received (token, local expert) pairs per local expert,
 * each rounded up to config.expertAlignment. */
strataResult_t strataMoeHandleGetExpertCounts(strataMoeHandle_t handle, size_t* recvTokensPerExpert);
strataResult_t strataMoeHandleDestroy(strataMoeHandle_t handle);

/* x: [numTokens x hidden] of dtype (float32, bfloat16, float16, or float8e4m3 with xScales:
 * [numTokens x ceil(hidden / 128)] float32, one scale per 128 elements). topkWeights
 * [numTokens x topK] float32 may be NULL. Outputs (recvScales only for float8e4m3;
 * recvTopkIdx and recvTopkWeights may be NULL): recvX [numRecvTokens x hidden],
 * recvTopkIdx [numRecvTokens x topK] int32 local expert ids or -1, recvTopkWeights
 * [numRecvTokens x topK] (0 where the id is -1). */
strataResult_t strataMoeDispatch(strataMoeHandle_t handle, const void* x, const float* xScales,
                                 size_t hidden, strataDataType_t dtype, const float* topkWeights,
                                 void* recvX, float* recvScales, int32_t* recvTopkIdx,
                                 float* recvTopkWeights, strataStream_t stream);

/* expertOut: with recvTopkWeights == NULL, [numRecvTokens x hidden], summed as is; otherwise
 * [numRecvTokens x topK x hidden], slot j of row i weighted by recvTopkWeights[i * topK + j] and
 * summed over the slots with a local expert. out: [numTokens x hidden]; a token routed nowhere
 * gets zeros. dtype: float32, bfloat16 or float16; sums are accumulated in float32. */
strataResult_t strataMoeCombine(strataMoeHandle_t handle, const void* expertOut, size_t hidden,
                                 strataDataType_t dtype, const float* recvTopkWeights, void* out,
                                 strataStream_t stream);

/* Gradient of dispatch: gradRecvX [numRecvTokens x hidden] -> gradX [numTokens x hidden] (a
 * token's gradient is the sum over the ranks it went to). gradRecvTopkWeights [.. x topK] (NULL:
 * zeros) -> gradTopkWeights [numTokens x topK] (NULL: not wanted), each slot from the rank
 * hosting its expert, 0 for slots without one. */
strataResult_t strataMoeDispatchBackward(strataMoeHandle_t handle, const void* gradRecvX, size_t hidden,
                                         strataDataType_t dtype, const float* gradRecvTopkWeights,
                                         void* gradX, float* gradTopkWeights, strataStream_t stream);

/* Gradient of combine: gradOut [numTokens x hidden] -> gradExpertOut in the layout combine took.
 * Unweighted combine: gradExpertOut [numRecvTokens x hidden] (recvTopkWeights NULL). Weighted:
 * gradExpertOut [numRecvTokens x topK x hidden] = weight x gradient (0 for slots without a local
 * expert), and when expertOut and gradRecvTopkWeights are non-NULL, gradRecvTopkWeights[i, j] =
 * <expertOut[i, j], gradient of row i>. */
strataResult_t strataMoeCombineBackward(strataMoeHandle_t handle, const void* gradOut, size_t hidden,
                                        strataDataType_t dtype, const float* recvTopkWeights,
                                        const void* expertOut, void* gradExpertOut,
                                        float* gradRecvTopkWeights, strataStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_STRATA_MOE_H */
