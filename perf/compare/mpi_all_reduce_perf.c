/* MPI_Allreduce timed like all_reduce_perf (float sum, out-of-place and in-place), printing the
 * same columns so perf/compare/compare.sh can put it next to Strata.
 *   mpirun -np 2 mpi_all_reduce_perf -b 8 -e 256M -f 2 [-n iters] [-w warmup] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t parseSize(const char* text) {
  char* end = NULL;
  double v = strtod(text, &end);
  if (*end == 'K' || *end == 'k') v *= 1024.0;
  if (*end == 'M' || *end == 'm') v *= 1024.0 * 1024.0;
  if (*end == 'G' || *end == 'g') v *= 1024.0 * 1024.0 * 1024.0;
  return (size_t)v;
}

static double timeAllreduce(float* send, float* recv, size_t count, int iters, int warmup) {
  for (int i = 0; i < warmup; ++i) MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  double start = MPI_Wtime();
  for (int i = 0; i < iters; ++i) MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  double us = (MPI_Wtime() - start) * 1e6 / iters;
  double sum = 0;
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
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
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "-b")) minBytes = parseSize(argv[i + 1]);
    else if (!strcmp(argv[i], "-e")) maxBytes = parseSize(argv[i + 1]);
    else if (!strcmp(argv[i], "-f")) factor = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-n")) iters = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-w")) warmup = atoi(argv[i + 1]);
    else {
      if (rank == 0) fprintf(stderr, "mpi_all_reduce_perf: unknown option %s\n", argv[i]);
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
  }
  if (factor < 2) factor = 2;
  float* send = malloc(maxBytes + 4);
  float* recv = malloc(maxBytes + 4);
  for (size_t i = 0; i < maxBytes / 4 + 1; ++i) send[i] = (float)(rank + 1);
  if (rank == 0) {
    printf("# MPI_Allreduce (Open MPI), %d ranks, float sum\n", n);
    printf("#%11s %13s %8s %7s %7s %8s %7s %7s %6s %8s %7s %7s %6s\n", "size", "count", "type", "redop", "root", "time",
           "algbw", "busbw", "#wrong", "time", "algbw", "busbw", "#wrong");
  }
  for (size_t bytes = minBytes; bytes <= maxBytes; bytes *= (size_t)factor) {
    size_t count = bytes / 4;
    double out = timeAllreduce(send, recv, count, iters, warmup);
    memcpy(recv, send, count * 4);
    double in = timeAllreduce(recv, recv, count, iters, warmup);
    double factorBus = 2.0 * (n - 1) / n;
    if (rank == 0) {
      printf("%12zu %13zu %8s %7s %7d %8.2f %7.2f %7.2f %6s %8.2f %7.2f %7.2f %6s\n", count * 4, count, "float", "sum", -1,
             out, count * 4 / out / 1e3, count * 4 / out / 1e3 * factorBus, "N/A", in, count * 4 / in / 1e3,
             count * 4 / in / 1e3 * factorBus, "N/A");
      fflush(stdout);
    }
    if (bytes == 0) break;
  }
  free(send);
  free(recv);
  MPI_Finalize();
  return 0;
}
