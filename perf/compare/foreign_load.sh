# Sourced by the comparison scripts: `start_foreign_load N SECONDS` starts N busy processes at the
# caller's priority, competing with the ranks as a data loader or the trainer's own compute
# would, each ending by itself after SECONDS so that a killed script leaves nothing spinning for
# long; `stop_foreign_load` (call it from the script's EXIT trap) ends them at once.
foreign_load_pids=()

start_foreign_load() {
  local n=$1 seconds=$2 i
  for ((i = 0; i < n; i++)); do
    timeout "$seconds" sh -c 'while :; do :; done' &
    foreign_load_pids+=($!)
  done
}

stop_foreign_load() {
  if [[ ${#foreign_load_pids[@]} -gt 0 ]]; then
    kill "${foreign_load_pids[@]}" 2>/dev/null || true
    wait "${foreign_load_pids[@]}" 2>/dev/null || true
  fi
  foreign_load_pids=()
}
