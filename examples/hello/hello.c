/* The smallest Strata program: every rank contributes its rank number, everyone gets the sum.
 * Run it with: build/bin/strata-run -n 4 build/bin/hello */
#include <stdio.h>
#include <stdlib.h>

#include <strata/strata.h>

#define CHECK(call)                                                                        \
  do {                                                                                     \
    strataResult_t r_ = (call);                                                            \
    if (r_ != strataSuccess) {                                                             \
      fprintf(stderr, "%s failed: %s (%s)\n", #call, strataGetErrorString(r_), strataGetLastError(NULL)); \
      return 1;                                                                            \
    }                                                                                      \
  } while (0)

int main(void) {
  strataComm_t comm;
  int rank, nranks;
  CHECK(strataCommInitFromEnv(&comm));
  CHECK(strataCommUserRank(comm, &rank));
  CHECK(strataCommCount(comm, &nranks));

  enum { N = 1000 };
  float* data = malloc(N * sizeof(float));
  for (int i = 0; i < N; ++i) data[i] = (float)rank;
  CHECK(strataAllReduce(data, data, N, strataFloat32, strataSum, comm, NULL)); /* in place */

  float expected = (float)(nranks * (nranks - 1) / 2);
  int wrong = 0;
  for (int i = 0; i < N; ++i) wrong += data[i] != expected;
  printf("rank %d of %d: sum of ranks = %g (%s)\n", rank, nranks, data[0], wrong ? "WRONG" : "ok");
  free(data);
  CHECK(strataCommDestroy(comm));
  return wrong ? 1 : 0;
}
