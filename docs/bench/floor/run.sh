#!/usr/bin/env bash
# The stack's floor (loadgen/examples/stack_floor.rs): the least a request of this API must
# cost with tokio, axum, sqlx, lapin and serde_json on this machine, without order-service's
# own work. On its own database and exchange (removed at the end). From the repository root,
# after `cargo build --release -p loadgen --example stack_floor`:
#   docs/bench/floor/run.sh http  <out-name>   # 16 workers, POST + 3 PATCHes, 30 s
#   docs/bench/floor/run.sh chain <out-name>   # 5 orders/s (as rate5's changes: 20/s), 30 s
# BIN (default target/release/examples), DURATION, RATE vary a run.
set -euo pipefail
SCENARIO=$1
NAME=$2
BIN=${BIN:-target/release/examples}
OUT=${OUT:-docs/bench/floor}
DURATION=${DURATION:-30}
TAG=benchfloor_$$
AMQP=amqp://guest:guest@127.0.0.1:5672/%2f
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $TAG"
# As order-service connects to a loopback database: no TLS.
"$BIN/stack_floor" serve --database-url "postgres://postgres@127.0.0.1:5432/$TAG?sslmode=disable" \
  --listen 127.0.0.1:18090 --amqp "$AMQP" --exchange "$TAG" 2>"/tmp/$TAG-serve.log" &
serve_pid=$!; pids+=("$serve_pid")
until grep -q listening "/tmp/$TAG-serve.log"; do sleep 0.1; done
case $SCENARIO in
  http) "$BIN/stack_floor" http --workers 16 --duration "$DURATION" --server-pid "$serve_pid" ;;
  chain) "$BIN/stack_floor" chain --amqp "$AMQP" --exchange "$TAG" --rate "${RATE:-20}" --duration "$DURATION" ;;
  *) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac | tee "$OUT/$NAME.txt"
