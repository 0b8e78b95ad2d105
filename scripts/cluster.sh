#!/usr/bin/env bash
# Several faceserver instances over one PostgreSQL behind nginx (Debian's package), on this machine.
#
#   DATABASE_URL=postgres://... scripts/cluster.sh start [N]   # N instances (default 2) + the balancer; returns once all are ready
#   scripts/cluster.sh status                                  # each instance's /readyz and the balancer's
#   scripts/cluster.sh stop                                    # graceful: SIGTERM to each instance, nginx quits
#
# Settings (environment):
#   DATABASE_URL        the shared PostgreSQL (required: the embedded store is one process's)
#   CLUSTER_DIR         where pids, logs, each instance's DATA_DIR and nginx.conf go (default ./cluster)
#   CLUSTER_PORT        the balancer's port (default 8080)
#   CLUSTER_HOST        the balancer's address (default 127.0.0.1)
#   CLUSTER_BASE_PORT   instance i listens on 127.0.0.1:CLUSTER_BASE_PORT+i (default 8100)
#   WORKERS, QUEUE_SIZE, ADMIN_SECRET, ... any faceserver setting, given to every instance
#   TRUSTED_PROXIES     proxies in front of nginx, if any: nginx then appends to their X-Forwarded-For, and the
#                       instances trust them besides nginx (127.0.0.1)
#
# Each instance is an ordinary `faceserver start` with its own DATA_DIR (its server.json and admin secret, the
# same for all; the data itself is in PostgreSQL) and a loopback port. nginx spreads requests over them
# (least_conn), keeps connections to them alive, stops sending to an instance that fails to answer, never
# forwards /admin/ or /metrics (they answer loopback callers, which every proxied request would be), and names
# the instance that answered in an X-Faceserver-Instance header. It sends each client's address in
# X-Forwarded-For, and the instances trust nginx's (TRUSTED_PROXIES=127.0.0.1), so the failed-authentication
# throttle counts each client on its own instead of everyone as 127.0.0.1. Writes on any instance reach every
# other instance's in-memory face index through PostgreSQL's LISTEN/NOTIFY (src/face-index/).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${CLUSTER_DIR:-$ROOT/cluster}
PORT=${CLUSTER_PORT:-8080}
HOST=${CLUSTER_HOST:-127.0.0.1}
BASE=${CLUSTER_BASE_PORT:-8100}
READY_TIMEOUT=${CLUSTER_READY_TIMEOUT:-180}
# status and stop use the ports the cluster was started with.
if [[ ${1:-} != start && -f ${CLUSTER_DIR:-$ROOT/cluster}/cluster.env ]]; then
  # shellcheck disable=SC1091
  source "$DIR/cluster.env"
fi

die() {
  echo "cluster.sh: $*" >&2
  exit 1
}

ready() { curl -fsS -o /dev/null --max-time 2 "$1/readyz" 2>/dev/null; }

instances() { ls "$DIR"/instance-*.pid 2>/dev/null | sed -E 's/.*instance-([0-9]+)\.pid/\1/' | sort -n; }

nginx_conf() {
  # shellcheck disable=SC2016 # nginx's variable, written as it is
  local n=$1 i xff='$remote_addr'
  # nginx is the edge: it replaces any X-Forwarded-For with the address it saw, so no client (a local one
  # included, whose address 127.0.0.1 is trusted) can put one of its own before it. Behind proxies of the user's
  # (TRUSTED_PROXIES) it appends instead, and the instances skip those trusted hops to the client's address.
  # shellcheck disable=SC2016 # nginx's variables, written as they are
  if [[ -n ${TRUSTED_PROXIES:-} ]]; then xff='$proxy_add_x_forwarded_for'; fi
  mkdir -p "$DIR/nginx-tmp"
  # nginx's workers drop to nobody when started as root: they may write only their temp folder.
  if [[ $EUID -eq 0 ]]; then chown nobody "$DIR/nginx-tmp"; fi
  {
    cat <<EOF
# Written by scripts/cluster.sh start $n: $n faceserver instances behind one nginx.
worker_processes 1;
daemon on;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx-tmp/body;
  proxy_temp_path $DIR/nginx-tmp/proxy;
  fastcgi_temp_path $DIR/nginx-tmp/fastcgi;
  uwsgi_temp_path $DIR/nginx-tmp/uwsgi;
  scgi_temp_path $DIR/nginx-tmp/scgi;
  upstream faceserver {
    least_conn;
EOF
    for ((i = 1; i <= n; i++)); do echo "    server 127.0.0.1:$((BASE + i)) max_fails=1 fail_timeout=5s;"; done
    cat <<EOF
    keepalive 64;
  }
  server {
    listen $HOST:$PORT;
    # MAX_BODY_BYTES and a little: the server answers a too-large body in each API's own words.
    client_max_body_size $(( ${MAX_BODY_BYTES:-10485760} + 1048576 ));
    client_body_buffer_size 1m;
    proxy_request_buffering off;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$http_host;
    # The client's address (the instances trust 127.0.0.1, nginx, to name it: TRUSTED_PROXIES)
    proxy_set_header X-Forwarded-For $xff;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_read_timeout 120s;
    proxy_next_upstream error timeout;
    add_header X-Faceserver-Instance \$upstream_addr always;
    # The admin API mints keys and /metrics tells about the traffic: both answer loopback callers only, and
    # through a proxy every caller is loopback. Scrape each instance at its own port.
    location /admin/ { return 404; }
    location = /metrics { return 404; }
    location / { proxy_pass http://faceserver; }
  }
}
EOF
  } >"$DIR/nginx.conf"
}

start() {
  local n=${1:-2} i pid
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "start takes a number of instances, not '$n'"
  [[ -n ${DATABASE_URL:-} ]] || die "set DATABASE_URL: the instances share one PostgreSQL"
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || die "nginx is not installed (bin/setup installs it)"
  local NGINX
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  [[ -z $(instances) ]] || die "$DIR already runs a cluster: scripts/cluster.sh stop first"
  # A source checkout whose server is compiled: compile once here, not in every instance at once.
  if [[ -f $ROOT/scripts/build-server.mjs ]]; then node "$ROOT/scripts/build-server.mjs" --if-stale || die "the build failed"; fi
  mkdir -p "$DIR"
  printf 'PORT=%q\nHOST=%q\nBASE=%q\n' "$PORT" "$HOST" "$BASE" >"$DIR/cluster.env"
  # One admin secret for all (the console signs in with it on whichever instance answers): ADMIN_SECRET, or
  # one generated here into each instance's DATA_DIR/admin-secret, where the CLI finds it.
  local secret=""
  if [[ -z ${ADMIN_SECRET:-} && ! -f $DIR/instance-1/admin-secret ]]; then secret=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); fi
  for ((i = 1; i <= n; i++)); do
    mkdir -p "$DIR/instance-$i"
    if [[ -n $secret || ( -z ${ADMIN_SECRET:-} && ! -f $DIR/instance-$i/admin-secret ) ]]; then
      [[ -n $secret ]] || secret=$(cat "$DIR/instance-1/admin-secret")
      (umask 077 && printf '%s\n' "$secret" >"$DIR/instance-$i/admin-secret")
    fi
    HOST=127.0.0.1 PORT=$((BASE + i)) DATA_DIR="$DIR/instance-$i" TRUSTED_PROXIES="127.0.0.1${TRUSTED_PROXIES:+,$TRUSTED_PROXIES}" \
      nohup "$ROOT/bin/faceserver" start >"$DIR/instance-$i.log" 2>&1 </dev/null &
    echo $! >"$DIR/instance-$i.pid"
  done
  nginx_conf "$n"
  # -e: nginx's own log before it reads the configuration (its default, /var/log/nginx, is root's)
  "$NGINX" -t -q -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf" -p "$DIR" || die "nginx refused $DIR/nginx.conf"
  "$NGINX" -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf" -p "$DIR"
  local deadline=$((SECONDS + READY_TIMEOUT))
  for ((i = 1; i <= n; i++)); do
    until ready "http://127.0.0.1:$((BASE + i))"; do
      pid=$(cat "$DIR/instance-$i.pid")
      kill -0 "$pid" 2>/dev/null || { tail -n 20 "$DIR/instance-$i.log" >&2; stop; die "instance $i exited (log above: $DIR/instance-$i.log)"; }
      ((SECONDS < deadline)) || { stop; die "instance $i not ready after ${READY_TIMEOUT}s ($DIR/instance-$i.log)"; }
      sleep 0.3
    done
  done
  until ready "http://$HOST:$PORT"; do
    ((SECONDS < deadline)) || { stop; die "the balancer does not answer on $HOST:$PORT ($DIR/nginx-error.log)"; }
    sleep 0.2
  done
  echo "cluster: $n instance(s) on 127.0.0.1:$((BASE + 1))-$((BASE + n)) behind nginx on http://$HOST:$PORT ($DIR)"
}

stop() {
  local i pid
  if [[ -f $DIR/nginx.pid ]]; then
    pid=$(cat "$DIR/nginx.pid")
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$DIR/nginx.pid"
  fi
  for i in $(instances); do
    pid=$(cat "$DIR/instance-$i.pid")
    kill -TERM "$pid" 2>/dev/null || true
  done
  for i in $(instances); do
    pid=$(cat "$DIR/instance-$i.pid")
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "cluster.sh: instance $i (pid $pid) ignored SIGTERM for 15 s: killing it" >&2; kill -KILL "$pid" 2>/dev/null || true; }
    rm -f "$DIR/instance-$i.pid"
  done
  echo "cluster: stopped ($DIR)"
}

status() {
  local i code=0
  for i in $(instances); do
    if ready "http://127.0.0.1:$((BASE + i))"; then echo "instance $i: ready on 127.0.0.1:$((BASE + i)) (pid $(cat "$DIR/instance-$i.pid"))"; else
      echo "instance $i: NOT ready on 127.0.0.1:$((BASE + i))"
      code=1
    fi
  done
  [[ -n $(instances) ]] || { echo "no cluster in $DIR"; return 1; }
  if ready "http://$HOST:$PORT"; then echo "balancer: ready on http://$HOST:$PORT"; else
    echo "balancer: NOT answering on http://$HOST:$PORT"
    code=1
  fi
  return $code
}

case ${1:-} in
  start) start "${2:-2}" ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: scripts/cluster.sh start [N] | status | stop" ;;
esac
