/* What a job's start costs one rank: time from main() to the end of init and to the end of its
 * first allreduce (8 bytes), then the descriptors it holds, its peak resident memory and the
 * shared memory it created. One line per rank, for perf/scale/startup.sh. Built twice: against
 * Strata (startup_probe) and against MPI (startup_probe_mpi, with -DPROBE_MPI), so both sides do
 * exactly the same thing. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifdef PROBE_MPI
#include <mpi.h>
#else
#include <strata/strata.h>
#endif

static double nowMs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int openDescriptors(void) {
  int count = -1; /* the directory's own descriptor */
  DIR* dir = opendir("/proc/self/fd");
  if (dir == NULL) return 0;
  for (struct dirent* e; (e = readdir(dir)) != NULL;) count += e->d_name[0] != '.';
  closedir(dir);
  return count;
}

/* Bytes of the shared-memory segment this rank created: Strata's own inbound segment (a memfd
 * named after the rank), or Open MPI's vader segment (/dev/shm/vader_segment.HOST.JOB.LOCALRANK;
 * every rank here is on one host, so its local rank is its rank). */
static long long ownSharedBytes(int rank) {
  char line[512], mine[96];
#ifdef PROBE_MPI
  snprintf(mine, sizeof mine, ".%d\n", rank);
#else
  snprintf(mine, sizeof mine, "/memfd:strata-inbound-%d ", rank);
#endif
  FILE* maps = fopen("/proc/self/maps", "r");
  long long bytes = 0;
  if (maps == NULL) return 0;
  while (fgets(line, sizeof line, maps) != NULL) {
    unsigned long long begin, end;
#ifdef PROBE_MPI
    const size_t length = strlen(line), suffix = strlen(mine);
    if (strstr(line, "/dev/shm/vader_segment") == NULL || length < suffix || strcmp(line + length - suffix, mine) != 0) continue;
#else
    if (strstr(line, mine) == NULL) continue;
#endif
    if (sscanf(line, "%llx-%llx", &begin, &end) == 2) bytes += (long long)(end - begin);
  }
  fclose(maps);
  return bytes;
}

/* Resident private memory (RssAnon): peak RSS also counts every peer's shared segment this
 * rank has mapped, which is the same memory counted once per rank. */
static long privateResidentKib(void) {
  char line[256];
  long kib = 0;
  FILE* status = fopen("/proc/self/status", "r");
  if (status == NULL) return 0;
  while (fgets(line, sizeof line, status) != NULL) {
    if (sscanf(line, "RssAnon: %ld kB", &kib) == 1) break;
  }
  fclose(status);
  return kib;
}

int main(int argc, char** argv) {
  const double start = nowMs();
  int rank = 0, ranks = 1;
  float one = 1.0f, sum = 0.0f;
#ifdef PROBE_MPI
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const double initDone = nowMs();
  MPI_Allreduce(&one, &sum, 1, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
#else
  (void)argc;
  (void)argv;
  strataComm_t comm;
  if (strataCommInitFromEnv(&comm) != strataSuccess) {
    fprintf(stderr, "init failed: %s\n", strataGetLastError(NULL));
    return 1;
  }
  strataCommUserRank(comm, &rank);
  strataCommCount(comm, &ranks);
  const double initDone = nowMs();
  if (strataAllReduce(&one, &sum, 1, strataFloat32, strataSum, comm, NULL) != strataSuccess) {
    fprintf(stderr, "allreduce failed: %s\n", strataGetLastError(comm));
    return 1;
  }
#endif
  const double firstDone = nowMs();
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  printf("probe rank %d of %d: init_ms %.1f first_allreduce_ms %.1f fds %d rss_kib %ld private_kib %ld shm_bytes %lld sum_ok %d\n",
         rank, ranks, initDone - start, firstDone - start, openDescriptors(), usage.ru_maxrss, privateResidentKib(),
         ownSharedBytes(rank), sum == (float)ranks);
#ifdef PROBE_MPI
  MPI_Finalize();
#else
  strataCommDestroy(comm);
#endif
  return 0;
}
