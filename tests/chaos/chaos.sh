#!/usr/bin/env bash
# Chaos trials: start a job (chaos_workload on 4 local ranks, shm or tcp at random), inject one
# fault at a random moment — startup included — and check what every user needs after it:
#   kill -9 of a rank, SIGSTOP of a rank, kill -9 of the launcher: the job ends with an error
#     within STRATA_TIMEOUT_MS (plus a margin), never hangs;
#   a flood of idle and garbage connections at the job's ports: the job still succeeds;
#   every time: no process of the job is left, nothing of Strata is left in /dev/shm, and a
#     relaunch on the same machine succeeds.
#   chaos.sh BUILD_BIN [--trials N] [--seed S]        (CI: 20 trials; longer by hand)
set -u
bin=$1
shift
trials=20 seed=$RANDOM
while (($#)); do
  case $1 in
    --trials) trials=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "usage: chaos.sh BUILD_BIN [--trials N] [--seed S]"; exit 2 ;;
  esac
done
RANDOM=$seed
run=$bin/strata-run workload=$bin/chaos_workload hello=$bin/hello
timeout_ms=2000
export STRATA_TIMEOUT_MS=$timeout_ms STRATA_SOCKET_IFNAME=lo
log=$(mktemp -d /tmp/strata-chaos.XXXXXX)
trap 'pkill -CONT -f "^$workload" 2>/dev/null; pkill -9 -f "^$workload" 2>/dev/null; rm -rf "$log"' EXIT
failures=0
fail() { echo "FAIL trial $trial ($fault, $transport, after ${delay_ms} ms): $*"; ((failures++)); }

# Holds N idle connections and sends garbage on some, to every TCP port the job's processes listen on.
flood() {
  local pids ports
  pids=$(pgrep -d, -f "$workload|$run" || true)
  [[ -n $pids ]] || return
  ports=$(ss -ltnpH 2>/dev/null | grep -E "pid=(${pids//,/|})," | awk '{print $4}' | sed 's/.*://' | sort -u)
  for port in $ports; do
    python3 - "$port" <<'PY' &
import socket, sys, time
port = int(sys.argv[1]); held = []
for i in range(150):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        if i % 3 == 0: s.send(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)))
        held.append(s)
    except OSError:
        pass
time.sleep(4)
PY
  done
}

start_all=$(date +%s)
for ((trial = 1; trial <= trials; trial++)); do
  faults=(kill-rank stop-rank kill-launcher flood)
  fault=${faults[RANDOM % 4]}
  transport=$([[ $((RANDOM % 2)) -eq 0 ]] && echo shm || echo tcp)
  delay_ms=$((RANDOM % 1500))
  victim=$((RANDOM % 4))
  STRATA_TRANSPORT=$transport "$run" -n 4 --grace-ms 500 "$workload" 3 > "$log/job" 2>&1 &
  launcher=$!
  started=$(date +%s%N)
  sleep "$(printf '0.%03d' "$delay_ms")"
  case $fault in
    kill-rank | stop-rank)
      target=$(pgrep -f "^$workload" | sed -n "$((victim + 1))p")  # ranks only, not the launcher
      [[ -n $target ]] && kill "$([[ $fault == kill-rank ]] && echo -KILL || echo -STOP)" "$target" 2>/dev/null ;;
    kill-launcher) kill -KILL "$launcher" 2>/dev/null ;;
    flood) flood ;;
  esac
  # The job must end by itself: within its 3 s of work plus the timeout and a margin.
  limit=$(( (3000 + timeout_ms + 6000) ))
  while kill -0 "$launcher" 2>/dev/null && (( ($(date +%s%N) - started) / 1000000 < limit )); do sleep 0.05; done
  if kill -0 "$launcher" 2>/dev/null; then
    fail "the job was still running after $limit ms"
    kill -KILL "$launcher" 2>/dev/null
  fi
  wait "$launcher" 2>/dev/null
  status=$?
  took=$(( ($(date +%s%N) - started) / 1000000 ))
  case $fault in
    flood) [[ $status -eq 0 ]] || { fail "a flood of strangers broke the job (exit $status)"; tail -5 "$log/job"; } ;;
    kill-launcher) ;;  # the launcher's own status is the signal; its ranks must be gone (below)
    *) [[ $status -ne 0 || $delay_ms -gt 2900 ]] || fail "the job reported success after a $fault" ;;
  esac
  sleep 0.2
  if pgrep -f "^$workload" > /dev/null; then
    fail "processes of the job are left: $(pgrep -f "^$workload" | tr '\n' ' ')"
    pkill -CONT -f "^$workload"; pkill -9 -f "^$workload"
  fi
  leftovers=$(ls /dev/shm | grep -i strata || true)
  [[ -z $leftovers ]] || fail "left in /dev/shm: $leftovers"
  "$run" -n 4 "$hello" > "$log/relaunch" 2>&1 || { fail "the relaunch failed"; tail -5 "$log/relaunch"; }
  echo "trial $trial: $fault at ${delay_ms} ms on $transport: job ended with status $status after ${took} ms"
done
echo "$trials trials in $(( $(date +%s) - start_all )) s (seed $seed): $failures failed"
exit $((failures > 0))
