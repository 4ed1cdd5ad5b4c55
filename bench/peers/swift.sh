#!/usr/bin/env bash
# OpenStack Swift, all in one, on loopback: the object-store peer of bench/objects.py,
# bench/s3_suite.py and bench/ring.py.
#
#   bench/peers/swift.sh start   # install once, write configs and rings, start, wait until healthy
#   bench/peers/swift.sh stop    # stop exactly the processes `start` started (and their children)
#   bench/peers/swift.sh install # only install (Swift's venv, memcached)
#   bench/peers/swift.sh env     # print the venv and state paths
#
# Swift comes from PyPI into a venv outside the repository, memcached from Debian when it is
# missing (apt-get, as root). The cluster is NODES storage nodes (each an object, container and
# account server with one device), REPLICAS replicas in all three rings, a proxy with tempauth
# and s3api, one memcached; everything listens on 127.0.0.1 only. Per-request logging is off
# (Stratus has no access log: no proxy-logging in the pipeline, log_requests = false on the
# storage servers). The background daemons run as Stratus's do, at Stratus's default intervals:
# per node the object, container and account replicators (objects over ssync) and auditors,
# the object and container updaters, and one object expirer. DAEMONS=0 leaves them out.
#
# Environment (defaults):
#   STRATUS_BENCH_CACHE  ${XDG_CACHE_HOME:-$HOME/.cache}/stratus-bench
#   SWIFT_VENV           $STRATUS_BENCH_CACHE/swift-venv
#   SWIFT_STATE          $STRATUS_BENCH_CACHE/swift-aio   (etc/, data/, run/; needs user xattrs)
#   SWIFT_VERSION        2.38.3
#   PYTHON               python3 (makes the venv)
#   PROXY_PORT           a free port (native API /v1, /auth/v1.0, S3 at /)
#   NODES=3  REPLICAS=3  PART_POWER=10  WORKERS=1 (per server)  DAEMONS=1
# Storage and memcached ports are picked free at each start. `start` writes
# $SWIFT_STATE/run/swift.env (ports, URLs, credentials) and $SWIFT_STATE/run/pids ("name pid").
# Users: test:tester / testing (S3: access test:tester, secret testing), test2:tester2 /
# testing2, test:tester3 / testing3 (not admin), admin:admin / admin (reseller admin).
set -euo pipefail

CACHE=${STRATUS_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stratus-bench}
VENV=${SWIFT_VENV:-$CACHE/swift-venv}
STATE=${SWIFT_STATE:-$CACHE/swift-aio}
SWIFT_VERSION=${SWIFT_VERSION:-2.38.3}
PYTHON=${PYTHON:-python3}
NODES=${NODES:-3}
REPLICAS=${REPLICAS:-3}
PART_POWER=${PART_POWER:-10}
WORKERS=${WORKERS:-1}
DAEMONS=${DAEMONS:-1}
ETC=$STATE/etc
DATA=$STATE/data
RUN=$STATE/run
PIDS=$RUN/pids
export PYTHONWARNINGS=ignore  # the venv's dnspython warns on every import

say() { echo "[swift.sh] $*" >&2; }

# Every PID below $1 (children first found, then theirs), read from /proc.
descendants() {
  local kid
  for kid in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$kid"
    descendants "$kid"
  done
}

stop() {
  [[ -s $PIDS ]] || { say "nothing to stop ($PIDS is empty or missing)"; return 0; }
  local name pid all=()
  while read -r name pid; do
    [[ -n ${pid:-} ]] && kill -0 "$pid" 2>/dev/null || continue
    all+=("$pid" $(descendants "$pid"))
  done < "$PIDS"
  ((${#all[@]})) && kill -TERM "${all[@]}" 2>/dev/null || true
  for _ in $(seq 1 40); do
    local alive=0 p
    for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && alive=1 && break; done
    ((alive)) || break
    sleep 0.25
  done
  for p in "${all[@]}"; do
    if kill -0 "$p" 2>/dev/null; then say "pid $p ignored SIGTERM: SIGKILL"; kill -KILL "$p" 2>/dev/null || true; fi
  done
  : > "$PIDS"
  say "stopped ${#all[@]} processes"
}

install() {
  if ! "$VENV/bin/python" -c "import swift" 2>/dev/null; then
    say "installing swift==$SWIFT_VERSION from PyPI into $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q "swift==$SWIFT_VERSION" >&2
  fi
  if ! command -v memcached >/dev/null; then
    say "installing memcached (Debian)"
    local i
    for i in $(seq 1 20); do  # another apt-get may hold the dpkg lock for a while
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q memcached >/dev/null 2>&1 && break
      ((i == 1)) && apt-get update -qq >/dev/null 2>&1  # a fresh machine has no package lists
      sleep 5
    done
    command -v memcached >/dev/null || { say "could not install memcached"; exit 1; }
  fi
}

# N distinct free loopback ports, one a line (held open together so none repeats).
free_ports() {
  "$VENV/bin/python" - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))
EOF
}

check_xattrs() {
  "$VENV/bin/python" - "$DATA" <<'EOF' || { say "no user xattrs under $DATA: set SWIFT_STATE to a filesystem with them"; exit 1; }
import os, sys, tempfile
fd, path = tempfile.mkstemp(dir=sys.argv[1])
try:
    os.setxattr(path, "user.swift.metadata", b"x" * 4000)
finally:
    os.close(fd)
    os.unlink(path)
EOF
}

server_conf() {  # $1 kind (object|container|account), $2 node, $3 port
  local kind=$1 n=$2 port=$3
  cat <<EOF
[DEFAULT]
devices = $DATA/$n
mount_check = false
bind_ip = 127.0.0.1
bind_port = $port
workers = $WORKERS
swift_dir = $ETC
user = $(id -un)
log_name = $kind-$n
recon_cache_path = $RUN/recon/$n

[pipeline:main]
pipeline = healthcheck $kind-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:$kind-server]
use = egg:swift#$kind
log_requests = false

[$kind-replicator]
interval = 30
EOF
  case $kind in
    object) cat <<EOF
sync_method = ssync
concurrency = 4

[object-auditor]
interval = 300
files_per_second = 200
bytes_per_second = 10000000

[object-updater]

[object-expirer]
interval = 10
internal_client_conf_path = $ETC/internal-client.conf
EOF
      ;;
    container) printf '\n[container-auditor]\ninterval = 300\n\n[container-updater]\n' ;;
    account) printf '\n[account-auditor]\ninterval = 300\n' ;;
  esac
}

write_configs() {  # $1 memcached port, then NODES lines of "object container account" ports
  local mc=$1 n kind
  shift
  mkdir -p "$ETC/object-server" "$ETC/container-server" "$ETC/account-server"
  cat > "$ETC/swift.conf" <<EOF
[swift-hash]
swift_hash_path_prefix = stratusbenchprefix
swift_hash_path_suffix = stratusbenchsuffix

[storage-policy:0]
name = gold
default = yes
EOF
  for n in $(seq 1 "$NODES"); do
    read -r op cp ap <<< "$1"
    shift
    server_conf object "$n" "$op" > "$ETC/object-server/$n.conf"
    server_conf container "$n" "$cp" > "$ETC/container-server/$n.conf"
    server_conf account "$n" "$ap" > "$ETC/account-server/$n.conf"
    mkdir -p "$DATA/$n/d$n" "$RUN/recon/$n"
    for kind in object container account; do
      case $kind in object) p=$op ;; container) p=$cp ;; account) p=$ap ;; esac
      echo "$kind r1z$n-127.0.0.1:$p/d$n" >> "$RUN/devices"
    done
  done
  cat > "$ETC/internal-client.conf" <<EOF
[DEFAULT]
swift_dir = $ETC
user = $(id -un)

[pipeline:main]
pipeline = catch_errors cache proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$mc
# Swift's default pool of 2 connections turns a 64-client load into token misses (401)
memcache_max_connections = 64

[filter:catch_errors]
use = egg:swift#catch_errors
EOF
  cat > "$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PROXY_PORT
workers = $WORKERS
swift_dir = $ETC
user = $(id -un)
log_name = proxy

# No proxy-logging: per-request logging is off, as Stratus has none.
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck cache listing_formats bulk tempurl formpost ratelimit s3api tempauth staticweb copy container_quotas account_quotas slo dlo versioned_writes symlink proxy-server

[app:proxy-server]
use = egg:swift#proxy
allow_account_management = true
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin
user_test2_tester2 = testing2 .admin
user_test_tester3 = testing3

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$mc
# Swift's default pool of 2 connections turns a 64-client load into token misses (401)
memcache_max_connections = 64

[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_versioned_writes = true
allow_object_versioning = true
EOF
  for f in catch_errors gatekeeper healthcheck listing_formats bulk tempurl formpost staticweb ratelimit copy container_quotas account_quotas slo dlo symlink; do
    printf '\n[filter:%s]\nuse = egg:swift#%s\n' "$f" "$f" >> "$ETC/proxy-server.conf"
  done
}

build_rings() {
  local kind dev
  for kind in object container account; do
    "$VENV/bin/swift-ring-builder" "$ETC/$kind.builder" create "$PART_POWER" "$REPLICAS" 1 >/dev/null
    while read -r k dev; do
      [[ $k == "$kind" ]] && "$VENV/bin/swift-ring-builder" "$ETC/$kind.builder" add "$dev" 100 >/dev/null
    done < "$RUN/devices"
    "$VENV/bin/swift-ring-builder" "$ETC/$kind.builder" rebalance >/dev/null || true
    [[ -f $ETC/$kind.ring.gz ]] || { say "the $kind ring was not built"; exit 1; }
  done
}

# The daemons read swift.conf from /etc/swift unless told: point them at ours first.
DAEMON_MAIN='import importlib, sys
from swift.common import storage_policy, utils
utils.set_swift_dir(sys.argv.pop(1))
storage_policy.reload_storage_policies()
module, func = sys.argv.pop(1).split(":")
sys.exit(getattr(importlib.import_module(module), func)())'

launch() {  # $1 name, rest: the command
  local name=$1
  shift
  "$@" >> "$RUN/$name.log" 2>&1 &
  echo "$name $!" >> "$PIDS"
}

start() {
  if [[ -s $PIDS ]]; then
    while read -r name pid; do
      kill -0 "$pid" 2>/dev/null && { say "already running ($name pid $pid): run stop first"; exit 1; }
    done < "$PIDS"
  fi
  install
  rm -rf "$ETC" "$DATA" "$RUN"
  mkdir -p "$ETC" "$DATA" "$RUN"
  check_xattrs
  local ports mc n i kind
  mapfile -t ports < <(free_ports $((3 * NODES + 2)))
  PROXY_PORT=${PROXY_PORT:-${ports[0]}}
  mc=${ports[1]}
  local node_ports=()
  for n in $(seq 1 "$NODES"); do
    i=$((3 * n - 1))
    node_ports+=("${ports[i]} ${ports[i + 1]} ${ports[i + 2]}")
  done
  write_configs "$mc" "${node_ports[@]}"
  build_rings
  : > "$PIDS"
  launch memcached memcached -l 127.0.0.1 -p "$mc" -U 0 -m 256 -c 4096 -u root
  for n in $(seq 1 "$NODES"); do
    for kind in object container account; do
      launch "$kind-$n" "$VENV/bin/swift-$kind-server" "$ETC/$kind-server/$n.conf" -v
    done
  done
  launch proxy "$VENV/bin/swift-proxy-server" "$ETC/proxy-server.conf" -v
  if [[ $DAEMONS == 1 ]]; then
    for n in $(seq 1 "$NODES"); do
      for d in obj.replicator obj.auditor obj.updater; do
        launch "object-${d#obj.}-$n" "$VENV/bin/python" -c "$DAEMON_MAIN" "$ETC" "swift.$d:main" "$ETC/object-server/$n.conf" -v
      done
      for d in container.replicator container.auditor container.updater account.replicator account.auditor; do
        launch "${d/./-}-$n" "$VENV/bin/python" -c "$DAEMON_MAIN" "$ETC" "swift.$d:main" "$ETC/${d%%.*}-server/$n.conf" -v
      done
    done
    launch object-expirer "$VENV/bin/python" -c "$DAEMON_MAIN" "$ETC" swift.obj.expirer:main "$ETC/object-server/1.conf" -v
  fi
  say "waiting for the servers to answer"
  local urls=("http://127.0.0.1:$PROXY_PORT/healthcheck")
  for n in "${node_ports[@]}"; do
    for p in $n; do urls+=("http://127.0.0.1:$p/healthcheck"); done
  done
  local ok=0 url
  for _ in $(seq 1 120); do
    ok=1
    for url in "${urls[@]}"; do
      curl -fs -m 2 "$url" >/dev/null || { ok=0; break; }
    done
    ((ok)) && break
    sleep 0.5
  done
  if ((!ok)); then
    say "not healthy after 60 s; logs in $RUN"
    stop
    exit 1
  fi
  local dead=0
  while read -r name pid; do
    kill -0 "$pid" 2>/dev/null || { say "$name exited early: $(tail -3 "$RUN/$name.log")"; dead=1; }
  done < "$PIDS"
  if ((dead)); then stop; exit 1; fi
  cat > "$RUN/swift.env" <<EOF
SWIFT_PROXY_PORT=$PROXY_PORT
SWIFT_AUTH_URL=http://127.0.0.1:$PROXY_PORT/auth/v1.0
SWIFT_USER=test:tester
SWIFT_KEY=testing
S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT
S3_ACCESS_KEY=test:tester
S3_SECRET_KEY=testing
SWIFT_PIDFILE=$PIDS
EOF
  say "up: proxy http://127.0.0.1:$PROXY_PORT, $NODES nodes, $REPLICAS replicas, $(wc -l < "$PIDS") processes (pids in $PIDS)"
  cat "$RUN/swift.env"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  install) install ;;
  env) printf 'SWIFT_VENV=%s\nSWIFT_STATE=%s\n' "$VENV" "$STATE" ;;
  *) echo "usage: $0 start|stop|install|env" >&2; exit 2 ;;
esac
