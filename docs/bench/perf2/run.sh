#!/usr/bin/env bash
# One benchmark run of issue #13's scenarios against freshly started release binaries, each on
# its own database and exchange (removed at the end). From the repository root, after
# `cargo build --release -p order-service -p kitchen-notifier -p loadgen`:
#   docs/bench/perf2/run.sh http  <out-name>      # http, 16 workers, 16 restaurants, 30 s
#   docs/bench/perf2/run.sh rate5 <out-name>      # fanout, 50 sockets, 5 orders/s, 30 s
#   docs/bench/perf2/run.sh flat500 <out-name>    # fanout, 500 sockets, 4 workers flat out
#   docs/bench/perf2/run.sh floor <out-name>      # http with the kitchen floor's writes
# BIN (default target/release), DATABASE_URL_OPTIONS (appended to the URL, e.g.
# "?sslmode=require"), SETUP_SQL (run on the migrated database before the load) and EXTRA_ENV ("NAME=value …" for order-service) vary a run.
set -euo pipefail
SCENARIO=$1
NAME=$2
BIN=${BIN:-target/release}
OUT=${OUT:-docs/bench/perf2}
DURATION=${DURATION:-30}
TAG=benchp2_$$
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
ulimit -n "$(ulimit -Hn)"

# The confirm limits protect a real restaurant from floods; this load is one address.
env DATABASE_URL="postgres://postgres@127.0.0.1:5432/$TAG${DATABASE_URL_OPTIONS:-}" KITCHEN_EXCHANGE=$TAG \
  LISTEN_ADDR=127.0.0.1:18080 CONFIRM_RATE_PER_ADDRESS=0 CONFIRM_RATE_PER_RESTAURANT=0 \
  RUST_LOG=warn ${EXTRA_ENV:-} "$BIN/order-service" >"/tmp/$TAG-order-service.log" 2>&1 &
os_pid=$!; pids+=("$os_pid")
until curl -sf 127.0.0.1:18080/readyz >/dev/null; do sleep 0.2; done
# An experiment's change to the migrated schema, if any.
if [ -n "${SETUP_SQL:-}" ]; then psql -q -h 127.0.0.1 -U postgres -d "$TAG" -c "$SETUP_SQL"; fi
KITCHEN_EXCHANGE=$TAG LISTEN_ADDR=127.0.0.1:18081 ORDER_SERVICE_URL=http://127.0.0.1:18080 \
  RUST_LOG=warn "$BIN/kitchen-notifier" >"/tmp/$TAG-notifier.log" 2>&1 &
nt_pid=$!; pids+=("$nt_pid")
until curl -sf 127.0.0.1:18081/readyz | grep -q '"ticket_key_loaded":true'; do sleep 0.2; done

common=(--order-service http://127.0.0.1:18080 --notifier ws://127.0.0.1:18081
        --order-service-pid "$os_pid" --notifier-pid "$nt_pid" --duration "$DURATION"
        --out "$OUT/$NAME.json")
case $SCENARIO in
  http) "$BIN/loadgen" http --workers 16 --restaurants 16 "${common[@]}" ;;
  floor) "$BIN/loadgen" http --workers 16 --restaurants 16 --kitchen-floor "${common[@]}" ;;
  rate5) "$BIN/loadgen" fanout --restaurants 1 --sockets-per-restaurant 50 --workers 4 --rate 5 \
           --broker-tap amqp://guest:guest@127.0.0.1:5672/%2f --exchange "$TAG" "${common[@]}" ;;
  flat500) "$BIN/loadgen" fanout --restaurants 1 --sockets-per-restaurant 500 --workers 4 "${common[@]}" ;;
  *) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac | tee "$OUT/$NAME.txt"
# The relay's lags (means from their sums and counts), for the per-hop breakdown.
curl -sf 127.0.0.1:18080/metrics | grep -E '^outbox_(fetch|confirm)_lag_seconds_(sum|count)' \
  | tee "$OUT/$NAME.relay.txt"
