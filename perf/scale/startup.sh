#!/usr/bin/env bash
# What a job's start costs at 8..128 ranks on this machine, Strata next to Open MPI in the same
# run: the launch's wall time (launcher start to the last rank's exit), the slowest rank's time
# from main() to the end of its first allreduce, descriptors per rank after it, the shared memory
# each rank creates, and private resident memory per rank (RssAnon: peak RSS would count every
# peer's shared segment once per rank that maps it) (medians over -l launches, Strata and Open MPI
# interleaved). Strata's ranks sit on emulated hosts of -r ranks (STRATA_HOSTID: tcp between
# them, shm inside); Open MPI's all share this host (it cannot be told otherwise), so its
# descriptors and shared memory are those of one big host.
#   perf/scale/startup.sh [-b BUILD_BIN] [-n 8,32,64,128] [-r 8] [-l 3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../../build/bin sizes=8,32,64,128 per_host=8 launches=3
while getopts "b:n:r:l:" opt; do
  case $opt in
    b) bin=$OPTARG ;; n) sizes=$OPTARG ;; r) per_host=$OPTARG ;; l) launches=$OPTARG ;;
    *) echo "usage: startup.sh [-b BUILD_BIN] [-n SIZES] [-r RANKS_PER_HOST] [-l LAUNCHES]" >&2; exit 2 ;;
  esac
done
[[ -x $bin/startup_probe && -x $bin/strata-run ]] || { echo "build first: $bin/startup_probe is missing" >&2; exit 1; }
have_mpi=0
if [[ -x $bin/startup_probe_mpi ]] && command -v mpirun > /dev/null; then have_mpi=1; fi
tmp=$(mktemp -d /tmp/strata-startup.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export STRATA_SOCKET_IFNAME=lo STRATA_TIMEOUT_MS=120000

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# One launch: writes "wall_ms" then the probe lines to $tmp/$1.$2.$3.
launch() {
  local who=$1 n=$2 i=$3 out=$tmp/$1.$2.$3 start
  start=$(now_ms)
  if [[ $who == strata ]]; then
    "$bin/strata-run" -n "$n" -- "$here/../../tests/mp/on_emulated_hosts.sh" $(( (n + per_host - 1) / per_host )) \
      "$bin/startup_probe" > "$out.lines" 2>&1 || { echo "strata launch of $n ranks failed:"; tail -5 "$out.lines"; exit 1; }
  else
    mpirun --allow-run-as-root --oversubscribe -np "$n" "$bin/startup_probe_mpi" > "$out.lines" 2>&1 ||
      { echo "mpirun of $n ranks failed:"; tail -5 "$out.lines"; exit 1; }
  fi
  echo $(( $(now_ms) - start )) > "$out.wall"
  grep -q "sum_ok 0" "$out.lines" && { echo "$who, $n ranks: a wrong allreduce result"; exit 1; }
  true
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
spread() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {if (NR) printf "%s-%s", lo, hi; else print "-"}'; }
# The field after `key` over every rank of every launch of (who, n): reduced per launch by `per`
# (max or median), then the median over launches.
field() {
  local who=$1 n=$2 key=$3 per=$4
  for ((i = 1; i <= launches; i++)); do
    grep -o "$key [0-9.]*" "$tmp/$who.$n.$i.lines" | awk '{print $2}' |
      if [[ $per == max ]]; then sort -g | tail -1; else median; fi
  done | median
}

IFS=, read -r -a ns <<< "$sizes"
for n in "${ns[@]}"; do
  for ((i = 1; i <= launches; i++)); do
    launch strata "$n" "$i"
    ((have_mpi)) && launch mpi "$n" "$i"
  done
done

printf "%s\n" "Start of a job on this machine ($(nproc) cores), medians of $launches launches interleaved (spread of the wall time):"
printf "%6s | %-20s %-20s | %-13s %-13s | %-11s %-11s | %-14s %-14s | %-11s %-11s\n" ranks "wall s strata" "wall s mpi" \
  "first ms str" "first ms mpi" "fds strata" "fds mpi" "shm/rank str" "shm/rank mpi" "private MiB s" "private MiB m"
for n in "${ns[@]}"; do
  row() {  # who -> "wall(spread)" "first" "fds" "shm" "rss"
    local who=$1
    if [[ $who == mpi && $have_mpi == 0 ]]; then echo "- - - - -"; return; fi
    local walls
    walls=$(for ((i = 1; i <= launches; i++)); do cat "$tmp/$who.$n.$i.wall"; done)
    printf "%s(%s) %s %s %s %s\n" \
      "$(echo "$walls" | median | awk '{printf "%.2f", $1 / 1000}')" \
      "$(echo "$walls" | awk '{printf "%.2f\n", $1 / 1000}' | spread)" \
      "$(field "$who" "$n" first_allreduce_ms max)" "$(field "$who" "$n" fds median)" \
      "$(field "$who" "$n" shm_bytes median | awk '{printf "%.1fMiB", $1 / 1048576}')" \
      "$(field "$who" "$n" private_kib median | awk '{printf "%.1f", $1 / 1024}')"
  }
  read -r sw sf sd ss sr <<< "$(row strata)"
  read -r mw mf md ms mr <<< "$(row mpi)"
  printf "%6s | %-20s %-20s | %-13s %-13s | %-11s %-11s | %-14s %-14s | %-11s %-11s\n" "$n" "$sw" "$mw" "$sf" "$mf" "$sd" "$md" "$ss" "$ms" "$sr" "$mr"
done
