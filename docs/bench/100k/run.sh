#!/usr/bin/env bash
# 100,000 kitchen sockets on one machine (issue #13): one order-service, NOTIFIERS notifier
# processes (each under the per-process file limit), one loadgen fanout process per notifier
# on its own loopback source addresses; together 5 orders/s over ~1,000 restaurants.
# Run from the repository root after `cargo build --release -p order-service
# -p kitchen-notifier -p loadgen`; PostgreSQL and RabbitMQ as on the build machine.
# Writes docs/bench/100k/fanout-<n>.{json,txt}; removes its database and exchange at the end.
set -euo pipefail
BIN=${BIN:-target/release}
NOTIFIERS=${NOTIFIERS:-6}
RESTAURANTS_EACH=${RESTAURANTS_EACH:-167}     # 6 × 167 = 1,002 restaurants
SOCKETS_PER_RESTAURANT=${SOCKETS_PER_RESTAURANT:-100}
RATE_TOTAL=${RATE_TOTAL:-5}
DURATION=${DURATION:-60}
OUT=docs/bench/100k
TAG=bench100k$$
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
ulimit -n "$(ulimit -Hn)"

# The confirm limits protect a real restaurant from floods; this load is one address.
DATABASE_URL=postgres://postgres@127.0.0.1:5432/$TAG KITCHEN_EXCHANGE=$TAG \
  LISTEN_ADDR=127.0.0.1:18080 CONFIRM_RATE_PER_ADDRESS=0 CONFIRM_RATE_PER_RESTAURANT=0 \
  RUST_LOG=warn "$BIN/order-service" >"${LOG_DIR:-/tmp}/bench100k-order-service.log" 2>&1 &
os_pid=$!; pids+=("$os_pid")
until curl -sf 127.0.0.1:18080/readyz >/dev/null; do sleep 0.5; done

notifier_pids=()
for n in $(seq 1 "$NOTIFIERS"); do
  KITCHEN_EXCHANGE=$TAG LISTEN_ADDR=127.0.0.1:$((18080 + n)) ORDER_SERVICE_URL=http://127.0.0.1:18080 \
    NOTIFIER_MAX_CONNECTIONS=19500 RUST_LOG=warn "$BIN/kitchen-notifier" >"${LOG_DIR:-/tmp}/bench100k-notifier-$n.log" 2>&1 &
  notifier_pids+=($!); pids+=($!)
done
for n in $(seq 1 "$NOTIFIERS"); do
  until curl -sf 127.0.0.1:$((18080 + n))/readyz | grep -q '"ticket_key_loaded":true'; do sleep 0.5; done
done

rate_each=$(awk "BEGIN { printf \"%.3f\", $RATE_TOTAL / $NOTIFIERS }")
loadgens=()
for n in $(seq 1 "$NOTIFIERS"); do
  "$BIN/loadgen" fanout --order-service http://127.0.0.1:18080 --notifier ws://127.0.0.1:$((18080 + n)) \
    --order-service-pid "$os_pid" --notifier-pid "${notifier_pids[$((n - 1))]}" \
    --restaurants "$RESTAURANTS_EACH" --sockets-per-restaurant "$SOCKETS_PER_RESTAURANT" \
    --workers 2 --rate "$rate_each" --duration "$DURATION" --drain-secs 5 \
    --source-ips 8 --first-source-ip $((2 + 8 * (n - 1))) \
    --out "$OUT/fanout-$n.json" >"$OUT/fanout-$n.txt" 2>&1 &
  loadgens+=($!)
done
# Every notifier's memory and open sockets, every 10 s until the load ends.
(
  while true; do
    line="$(date +%T)"
    for n in $(seq 1 "$NOTIFIERS"); do
      pid=${notifier_pids[$((n - 1))]}
      line+=" n$n:rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$pid/status),fds=$(ls /proc/$pid/fd | wc -l)"
    done
    echo "$line"
    sleep 10
  done
) >"$OUT/notifiers.txt" 2>&1 &
sampler=$!; pids+=("$sampler")
status=0
for pid in "${loadgens[@]}"; do wait "$pid" || status=1; done
exit $status
