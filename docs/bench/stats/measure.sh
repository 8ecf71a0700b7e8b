#!/bin/bash
# measure.sh DB QUERY_FILE: the stats statement, prepared as sqlx prepares it ($1 restaurant,
# $2 from, $3 to), for the 31-day window 2026-11-01..12-02 and the 24-hour window
# 2026-11-15..16 of setup.sql's busy restaurant: after one warm-up execution, EXPLAIN (ANALYZE,
# BUFFERS), the execution time of EXPLAIN (ANALYZE, TIMING OFF) (no per-row clock reads), and
# 20 timed executions (psql's \timing: the round trip from the client; the first is left out),
# and the backend's CPU time per execution.
set -euo pipefail
DB=$1; Q=$2
R="'00000000-0000-0000-0000-0000000000a1'"
P="PREPARE stats(uuid, timestamptz, timestamptz) AS $(cat "$Q");"
for W in "'2026-11-01 00:00Z', '2026-12-02 00:00Z'" "'2026-11-15 00:00Z', '2026-11-16 00:00Z'"; do
  echo "=== $DB, $(basename "$Q"), window $W"
  { echo "$P"; echo "\\o /dev/null"; echo "EXECUTE stats($R, $W);"; echo "\\o"; echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE stats($R, $W);"; echo "EXPLAIN (ANALYZE, TIMING OFF) EXECUTE stats($R, $W);"; } \
    | psql -h 127.0.0.1 -U postgres -d "$DB" -q -P pager=off 2>&1 \
    | awk '/QUERY PLAN/{n++} n==1 && !/^-+$/ && !/QUERY PLAN/ && NF {print} n==2 && /Execution Time/ {print "EXPLAIN (ANALYZE, TIMING OFF):" $0}'
  { echo "$P"; echo '\timing on'; echo '\o /dev/null'; for i in $(seq 21); do echo "EXECUTE stats($R, $W);"; done; } \
    | psql -h 127.0.0.1 -U postgres -d "$DB" -q 2>&1 | grep -oP '^Time: \K[0-9.]+' | tail -n +3 | sort -n \
    | awk '{a[NR]=$1} END {printf "20 executions: min %.1f, median %.1f, max %.1f ms\n", a[1], a[int((NR+1)/2)], a[NR]}'
  # The backend's own CPU time per execution (log_executor_stats, sent to the client), which
  # other processes on the machine do not inflate: the difference of its running total, which
  # is reported twice per EXECUTE.
  { echo "SET client_min_messages = log; SET log_executor_stats = on;"; echo "$P"; echo '\o /dev/null'
    for i in $(seq 12); do echo "EXECUTE stats($R, $W);"; done; } \
    | psql -h 127.0.0.1 -U postgres -d "$DB" -q 2>&1 \
    | awk '/s system total\]/ { gsub(/[\[\]!]/, ""); if (++k % 2 == 0) { t = $1 + $4; if (k > 2) d[++n] = (t - last) * 1000; last = t } }
           END { asort(d); printf "CPU per execution (%d, after the first): min %.1f, median %.1f, max %.1f ms\n", n, d[1], d[int((n + 1) / 2)], d[n] }'
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
