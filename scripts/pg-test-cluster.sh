#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster with pgvector for the test suite, on a private loopback port.
#
#   url=$(scripts/pg-test-cluster.sh start)   # prints DATABASE_URL (the only line on stdout)
#   scripts/pg-test-cluster.sh stop "$url"    # stops it and deletes its files (or: stop with $DATABASE_URL set)
#   scripts/pg-test-cluster.sh ctl "$url" restart|halt|resume   # fault tests: pg_ctl restart -m fast, stop -m fast
#                                             # (files kept), start again on the same port
#   PG_TEST_DISK_MB=192 scripts/pg-test-cluster.sh start   # disk-full tests: the data folder on a tmpfs of that size
#   scripts/pg-test-cluster.sh dir "$url"     # prints the cluster's folder (the tmpfs is its disk/, data is disk/data)
#
# Each start makes a new cluster, so concurrent test runs on one machine never share one. The cluster lives in
# /tmp/faceserver-pg-<port>, a folder user postgres can traverse; as root, the server runs as postgres.
# Needs bin/setup first (postgresql-15 and pgvector). PG_TEST_DISK_MB mounts a tmpfs, which needs root (CAP_SYS_ADMIN):
# as root (CI), or through `sudo -n`; stop unmounts it.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DB_NAME=faceserver_test

log() { echo "pg-test-cluster: $*" >&2; }
fail() { log "ERROR: $*"; exit 1; }

# Runs a PostgreSQL program as the cluster's owner: postgres when we are root, else ourselves.
as_owner() {
  # From /, because postgres may not be allowed into the current folder (say /root).
  if [[ $EUID -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Runs a command as root: directly as root, else through sudo -n (passwordless, or a ticket: scripts/test.sh asks once).
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

free_loopback_port() {
  node -e 'const s = require("net").createServer();
           s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

cluster_dir() { echo "/tmp/faceserver-pg-$1"; }

pg_start() { # dir port
  # fsync off: the data is thrown away, and the tests should measure our code, not the disk.
  if ! as_owner "$PG_BIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 30 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$2 -c unix_socket_directories=$1 -c fsync=off" >/dev/null; then
    tail -n 20 "$1/server.log" >&2 || true
    fail "the server did not start on 127.0.0.1:$2 (log above)"
  fi
}

url_port() { sed -nE 's|^postgres(ql)?://[^@/]*@?127\.0\.0\.1:([0-9]+)/.*$|\2|p' <<< "$1"; }

start() {
  [[ -x $PG_BIN/initdb ]] || fail "$PG_BIN/initdb not found: run bin/setup first"
  if [[ $EUID -eq 0 ]]; then id postgres >/dev/null 2>&1 || fail "user postgres does not exist: run bin/setup first"; fi
  local port dir
  port=$(free_loopback_port)
  dir=$(cluster_dir "$port")
  mkdir "$dir"
  if [[ $EUID -eq 0 ]]; then chown postgres: "$dir"; fi
  chmod 700 "$dir"
  if [[ -n ${PG_TEST_DISK_MB:-} ]]; then
    # The data folder on a small filesystem of its own (data -> disk/data), owned by the cluster's owner.
    mkdir "$dir/disk"
    as_root mount -t tmpfs -o "size=${PG_TEST_DISK_MB}m,mode=700,uid=$(as_owner id -u),gid=$(as_owner id -g)" tmpfs "$dir/disk" ||
      { rm -rf "$dir"; fail "cannot mount a tmpfs on $dir/disk: PG_TEST_DISK_MB needs root, or sudo that does not ask for a password (sudo -n)"; }
    as_owner mkdir -m 700 "$dir/disk/data"
    ln -s disk/data "$dir/data"
  fi
  as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null ||
    fail "initdb failed in $dir"
  pg_start "$dir" "$port"
  local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
  "${psql[@]}" -d postgres -c "CREATE DATABASE $DB_NAME" >&2 ||
    fail "cannot create database $DB_NAME"
  # Proves pgvector is installed for this server; the migrations create it again with IF NOT EXISTS.
  "${psql[@]}" -d "$DB_NAME" -c "CREATE EXTENSION vector" >&2 ||
    fail "CREATE EXTENSION vector failed: is pgvector installed for PostgreSQL 15? (bin/setup builds it)"
  log "started PostgreSQL $("${psql[@]}" -d "$DB_NAME" -tAc 'SHOW server_version') with pgvector" \
    "$("${psql[@]}" -d "$DB_NAME" -tAc "SELECT extversion FROM pg_extension WHERE extname = 'vector'")" \
    "on 127.0.0.1:$port ($dir)"
  echo "postgres://postgres@127.0.0.1:$port/$DB_NAME"
}

stop() {
  local url=${1:-${DATABASE_URL:-}} port dir
  [[ -n $url ]] || fail "usage: $0 stop DATABASE_URL (or with DATABASE_URL set)"
  port=$(url_port "$url")
  [[ -n $port ]] || fail "not a URL that start printed: $url"
  dir=$(cluster_dir "$port")
  [[ -d $dir/data ]] || fail "no test cluster in $dir"
  as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || log "pg_ctl stop failed; removing $dir anyway"
  if mountpoint -q "$dir/disk"; then as_root umount "$dir/disk" || fail "cannot unmount $dir/disk"; fi
  rm -rf "$dir"
  log "stopped and removed the cluster on port $port"
}

# Fault tests on a cluster this script started: restart (fast), halt (stop fast, keep the files), resume.
ctl() {
  local url=${1:-} action=${2:-} port dir
  port=$(url_port "$url")
  [[ -n $port ]] || fail "not a URL that start printed: $url"
  dir=$(cluster_dir "$port")
  [[ -d $dir/data ]] || fail "no test cluster in $dir"
  case $action in
    restart) as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 30 restart >/dev/null ;;
    halt) as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null ;;
    resume) pg_start "$dir" "$port" ;;
    *) fail "usage: $0 ctl DATABASE_URL restart|halt|resume" ;;
  esac
}

dir_of() {
  local port
  port=$(url_port "${1:-}")
  [[ -n $port ]] || fail "not a URL that start printed: ${1:-}"
  cluster_dir "$port"
}

case ${1:-} in
  start) start ;;
  dir) dir_of "${2:-}" ;;
  stop) stop "${2:-}" ;;
  ctl) ctl "${2:-}" "${3:-}" ;;
  *) fail "usage: $0 start | stop [DATABASE_URL] | ctl DATABASE_URL restart|halt|resume | dir DATABASE_URL" ;;
esac
