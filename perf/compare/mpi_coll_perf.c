/* Open MPI's collectives timed like Strata's *_perf tools (float, sum, root 0, out-of-place),
 * printing the same first nine columns, so perf/compare/run can put MPI next to Strata. Sizes,
 * counts and busbw factors follow nccl-tests, as the Strata tools do.
 *   mpirun -np 2 mpi_coll_perf -c all_reduce -b 8 -e 256M -f 2 [-n iters] [-w warmup]
 * Collectives: all_reduce all_gather reduce_scatter broadcast reduce alltoall gather scatter. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char* name;
  int perRank;   /* count = bytes / 4 / n (one block per rank) instead of bytes / 4 */
  int allReduceFactor; /* busbw factor 2(n-1)/n; else (n-1)/n when perRank, 1 otherwise */
  int rooted;
} Collective;

static const Collective kCollectives[] = {
    {"all_reduce", 0, 1, 0}, {"all_gather", 1, 0, 0}, {"reduce_scatter", 1, 0, 0}, {"broadcast", 0, 0, 1},
    {"reduce", 0, 0, 1},     {"alltoall", 1, 0, 0},   {"gather", 1, 0, 1},         {"scatter", 1, 0, 1},
};

static size_t parseSize(const char* text) {
  char* end = NULL;
  double v = strtod(text, &end);
  if (*end == 'K' || *end == 'k') v *= 1024.0;
  if (*end == 'M' || *end == 'm') v *= 1024.0 * 1024.0;
  if (*end == 'G' || *end == 'g') v *= 1024.0 * 1024.0 * 1024.0;
  return (size_t)v;
}

/* One call of the collective on `count` floats per block (MPI counts are int: sizes stay < 8 GiB). */
static void runOnce(const char* name, float* send, float* recv, int count) {
  MPI_Comm w = MPI_COMM_WORLD;
  if (!strcmp(name, "all_reduce")) MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, w);
  else if (!strcmp(name, "all_gather")) MPI_Allgather(send, count, MPI_FLOAT, recv, count, MPI_FLOAT, w);
  else if (!strcmp(name, "reduce_scatter")) MPI_Reduce_scatter_block(send, recv, count, MPI_FLOAT, MPI_SUM, w);
  else if (!strcmp(name, "broadcast")) MPI_Bcast(send, count, MPI_FLOAT, 0, w);
  else if (!strcmp(name, "reduce")) MPI_Reduce(send, recv, count, MPI_FLOAT, MPI_SUM, 0, w);
  else if (!strcmp(name, "alltoall")) MPI_Alltoall(send, count, MPI_FLOAT, recv, count, MPI_FLOAT, w);
  else if (!strcmp(name, "gather")) MPI_Gather(send, count, MPI_FLOAT, recv, count, MPI_FLOAT, 0, w);
  else if (!strcmp(name, "scatter")) MPI_Scatter(send, count, MPI_FLOAT, recv, count, MPI_FLOAT, 0, w);
}

/* Mean over ranks of the time per call, in microseconds. */
static double timeCalls(const char* name, float* send, float* recv, int count, int iters, int warmup, int n) {
  for (int i = 0; i < warmup; ++i) runOnce(name, send, recv, count);
  MPI_Barrier(MPI_COMM_WORLD);
  double start = MPI_Wtime();
  for (int i = 0; i < iters; ++i) runOnce(name, send, recv, count);
  double us = (MPI_Wtime() - start) * 1e6 / iters, sum = 0;
  MPI_Allreduce(&us, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return sum / n;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, n = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  size_t minBytes = 32u << 20, maxBytes = 32u << 20;
  int factor = 2, iters = 20, warmup = 1;
  const Collective* coll = &kCollectives[0];
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "-b")) minBytes = parseSize(argv[i + 1]);
    else if (!strcmp(argv[i], "-e")) maxBytes = parseSize(argv[i + 1]);
    else if (!strcmp(argv[i], "-f")) factor = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-n")) iters = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-w")) warmup = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-c")) {
      coll = NULL;
      for (size_t k = 0; k < sizeof(kCollectives) / sizeof(kCollectives[0]); ++k) {
        if (!strcmp(argv[i + 1], kCollectives[k].name)) coll = &kCollectives[k];
      }
      if (coll == NULL) {
        if (rank == 0) fprintf(stderr, "mpi_coll_perf: unknown collective %s\n", argv[i + 1]);
        MPI_Abort(MPI_COMM_WORLD, 2);
      }
    } else {
      if (rank == 0) fprintf(stderr, "mpi_coll_perf: unknown option %s\n", argv[i]);
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
  }
  if (factor < 2) factor = 2;
  if (iters < 1) iters = 1;
  size_t elements = maxBytes / 4 + (size_t)n;
  float* send = malloc(elements * 4);
  float* recv = malloc(elements * 4);
  for (size_t i = 0; i < elements; ++i) send[i] = (float)(rank + 1);
  double busFactor = coll->allReduceFactor ? 2.0 * (n - 1) / n : coll->perRank ? (double)(n - 1) / n : 1.0;
  if (rank == 0) {
    printf("# Open MPI %s, %d ranks, float sum, root 0\n", coll->name, n);
    printf("#%11s %13s %8s %7s %7s %8s %7s %7s %6s\n", "size", "count", "type", "redop", "root", "time", "algbw", "busbw",
           "#wrong");
  }
  for (size_t bytes = minBytes; bytes <= maxBytes; bytes *= (size_t)factor) {
    size_t count = coll->perRank ? bytes / 4 / (size_t)n : bytes / 4;
    size_t algBytes = count * 4 * (coll->perRank ? (size_t)n : 1);
    double us = timeCalls(coll->name, send, recv, (int)count, iters, warmup, n);
    if (rank == 0) {
      double algbw = (double)algBytes / us / 1e3;
      printf("%12zu %13zu %8s %7s %7d %8.2f %7.2f %7.2f %6s\n", algBytes, count, "float", "sum", coll->rooted ? 0 : -1, us, algbw,
             algbw * busFactor, "N/A");
      fflush(stdout);
    }
    if (bytes == 0) break;
  }
  free(send);
  free(recv);
  MPI_Finalize();
  return 0;
}
