# Sourced by the benchmark scripts (docs/bench/*/run.sh): the one clean-up they share. Set TAG
# (the run's database and exchange name) before sourcing; add each started process to `pids`.
# On exit, for whatever reason, the processes are stopped and the database and exchange go.
pids=()
bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $TAG WITH (FORCE)" || true
  rabbitmqctl -q eval "rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, <<\"$TAG\">>), false, <<\"bench\">>)." >/dev/null || true
}
trap bench_cleanup EXIT
