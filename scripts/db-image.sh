#!/usr/bin/env bash
# Builds berth-db:bookworm, a local image with Debian's PostgreSQL 15 and Redis for Berth's
# deploy tests, without a container registry: mmdebstrap makes a Debian root filesystem from
# the package mirror, and `docker import` turns it into an image.
#
#   scripts/db-image.sh            # build it unless it is there at this script's version
#   scripts/db-image.sh --force    # import it again (from the cached root filesystem)
#   scripts/db-image.sh --refresh  # also make the root filesystem again (package updates)
#
# PostgreSQL (the default command; PGDATA, POSTGRES_USER, POSTGRES_DB, POSTGRES_INITDB_ARGS
# and POSTGRES_HOST_AUTH_METHOD as in the official image; extra arguments go to postgres):
#   docker run -d -e POSTGRES_PASSWORD=secret -v pgdata:/var/lib/postgresql/data \
#     -p 5432:5432 berth-db:bookworm berth-postgres
#   docker exec CONTAINER psql -U postgres        (PGHOST=/tmp is set in the image)
# Redis:
#   docker run -d -v redisdata:/data -p 6379:6379 berth-db:bookworm \
#     redis-server --bind 0.0.0.0 --protected-mode no --appendonly yes --dir /data
#
# The root filesystem (~2 min to make) is kept in ${XDG_CACHE_HOME:-$HOME/.cache}/berth/;
# importing it takes seconds. Needs a Docker engine, and mmdebstrap (installed with apt when
# running as root). Prints the image and its id; timings go to stderr. The image's stop signal
# is SIGINT (PostgreSQL's fast shutdown). No JIT in this PostgreSQL: LLVM is left out.
set -euo pipefail

# Bump when anything that goes into the image changes (packages, wrapper, import changes):
# an image labelled with another version is rebuilt.
VERSION=1
IMAGE=berth-db:bookworm
SUITE=bookworm
PACKAGES=postgresql-15,redis-server

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

say() { echo "db-image: $*" >&2; }

die() {
  say "$*"
  exit 1
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

force=0
refresh=0
while (($#)); do
  case $1 in
    --force) force=1 ;;
    --refresh) force=1 refresh=1 ;;
    -h | --help) usage ;;
    *) say "unknown argument: $1" && usage ;;
  esac
  shift
done

start=$(now)

command -v docker >/dev/null || die "docker is not installed (no 'docker' on PATH)"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (is it running? DOCKER_HOST=${DOCKER_HOST:-unset})"

have=$(docker image inspect --format '{{ index .Config.Labels "berth.db-image.version" }}' \
  "$IMAGE" 2>/dev/null || true)
if ((!force)) && [[ $have == "$VERSION" ]]; then
  echo "$IMAGE $(docker image inspect --format '{{.Id}}' "$IMAGE") (up to date, version $VERSION)"
  exit 0
fi

# The cached root filesystem is named after everything that goes into making it.
mmdebstrap_args=(
  --variant=apt
  --include="$PACKAGES"
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  # Locale sources: initdb uses C.UTF-8, which glibc has built in.
  --dpkgopt='path-exclude=/usr/share/i18n/locales/*'
  --dpkgopt='path-exclude=/usr/share/i18n/charmaps/*'
  # LLVM (and z3, which it needs) is there for PostgreSQL's JIT only: 157 MB of a 380 MB root
  # filesystem. Without llvmjit.so PostgreSQL has no JIT provider and runs queries without one.
  --dpkgopt='path-exclude=/usr/lib/*/libLLVM-*'
  --dpkgopt='path-exclude=/usr/lib/*/libz3.so*'
  --dpkgopt='path-exclude=/usr/lib/postgresql/*/lib/llvmjit*'
  --dpkgopt='path-exclude=/usr/lib/postgresql/*/lib/bitcode/*'
  # No cluster under /var/lib/postgresql/15/main: berth-postgres makes one in $PGDATA.
  --essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.d/berth.conf"'
)
key=$(printf '%s\n' "$SUITE" "${mmdebstrap_args[@]}" | sha256sum | cut -c1-12)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/berth
rootfs=$cache/db-rootfs-$SUITE-$key.tar

stage=$(mktemp -d "${TMPDIR:-/tmp}/berth-db-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT

if ((refresh)) || [[ ! -s $rootfs ]]; then
  if ! command -v mmdebstrap >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      say "installing mmdebstrap (apt-get install mmdebstrap)"
      t=$(now)
      { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends mmdebstrap; } >"$stage/apt.log" 2>&1 \
        || { tail -n 30 "$stage/apt.log" >&2; die "apt-get install mmdebstrap failed"; }
      say "mmdebstrap installed in $(since "$t")"
    else
      die "mmdebstrap is missing (and not root with apt-get to install it): apt-get install mmdebstrap"
    fi
  fi
  mkdir -p "$cache"
  say "making the $SUITE root filesystem with $PACKAGES (mmdebstrap, ~2 min)"
  t=$(now)
  # The mmdebstrap log is shown only when it fails.
  if ! mmdebstrap "${mmdebstrap_args[@]}" "$SUITE" "$stage/rootfs.tar" >"$stage/mmdebstrap.log" 2>&1; then
    tail -n 40 "$stage/mmdebstrap.log" >&2
    die "mmdebstrap failed"
  fi
  mv "$stage/rootfs.tar" "$rootfs"
  # Root filesystems made with other settings are of no more use.
  find "$cache" -maxdepth 1 -name "db-rootfs-$SUITE-*.tar" ! -name "${rootfs##*/}" -delete
  say "root filesystem made in $(since "$t") ($(du -h "$rootfs" | cut -f1), $rootfs)"
else
  say "using the cached root filesystem $rootfs"
fi

# Files added to the root filesystem: /data for Redis, and the PostgreSQL wrapper.
overlay=$stage/overlay
mkdir -p "$overlay/data" "$overlay/usr/local/bin"
cat >"$overlay/usr/local/bin/berth-postgres" <<'WRAPPER'
#!/bin/sh
# berth-postgres [POSTGRES ARGS...]: PostgreSQL 15 as the container's main process.
# As root it makes $PGDATA (default /var/lib/postgresql/data) owned by postgres and runs
# itself again as postgres. When $PGDATA holds no cluster yet it runs initdb: superuser
# $POSTGRES_USER (default postgres) with password $POSTGRES_PASSWORD, trust for local
# (unix socket) connections, $POSTGRES_HOST_AUTH_METHOD (default scram-sha-256) for host
# connections from anywhere, and the database $POSTGRES_DB (default: the user's name).
# Then postgres replaces this script, so that it gets the stop signal (docker stop).
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

say() { echo "berth-postgres: $*" >&2; }

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  HOME=/var/lib/postgresql exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -n "$(ls -A "$PGDATA")" ]; then
    say "$PGDATA is not empty but holds no cluster (no PG_VERSION); not running initdb"
    exit 1
  fi
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    say "POSTGRES_PASSWORD is not set (set it, or POSTGRES_HOST_AUTH_METHOD=trust)"
    exit 1
  fi
  pwfile=
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  fi
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments
  initdb --username="$user" ${pwfile:+--pwfile="$pwfile"} --auth-local=trust \
    --auth-host="$auth" --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-}
  [ -z "$pwfile" ] || rm -f "$pwfile"
  printf '\n# berth-postgres: connections from other containers\nhost all all all %s\n' \
    "$auth" >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    # A server of its own socket directory, so that nobody waiting for the real one (with
    # pg_isready, say) connects to it while it is there.
    sock=$(mktemp -d)
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$sock" start
    psql -h "$sock" -U "$user" -d postgres -v ON_ERROR_STOP=1 -v db="$db" -q <<'SQL'
CREATE DATABASE :"db";
SQL
    pg_ctl -D "$PGDATA" -m fast -w stop
    rmdir "$sock"
  fi
  say "initialized $PGDATA (user $user, database $db, host auth $auth)"
fi

exec postgres -c 'listen_addresses=*' -c unix_socket_directories=/tmp "$@"
WRAPPER
chmod 755 "$overlay/usr/local/bin/berth-postgres"

t=$(now)
cp "$rootfs" "$stage/image.tar"
tar --append -f "$stage/image.tar" -C "$overlay" --owner=0 --group=0 --numeric-owner \
  --no-recursion ./data ./usr/local/bin/berth-postgres

old=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
staging=$IMAGE-import
docker import \
  --change "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8" \
  --change "ENV PGDATA=/var/lib/postgresql/data" \
  --change "ENV PGHOST=/tmp" \
  --change "LABEL berth.db-image.version=$VERSION" \
  --change "EXPOSE 5432 6379" \
  --change "WORKDIR /" \
  --change 'CMD ["berth-postgres"]' \
  --message "scripts/db-image.sh version $VERSION ($SUITE: $PACKAGES)" \
  "$stage/image.tar" "$staging" >/dev/null
# STOPSIGNAL SIGINT, as in the official postgres image: SIGTERM is PostgreSQL's "smart"
# shutdown, which waits for every client to disconnect (an idle pool outlasts docker stop's
# timeout, then SIGKILL); SIGINT is its "fast" shutdown, still clean. Redis takes both alike.
# `docker import --change` cannot set it on every engine (20.10 refuses), so a one-line build
# (no layer, no registry) does. Its log is shown only when it fails.
if ! printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$staging" \
  | docker build --tag "$IMAGE" - >"$stage/build.log" 2>&1; then
  cat "$stage/build.log" >&2
  docker image rm "$staging" >/dev/null 2>&1 || true
  die "docker build (STOPSIGNAL) failed"
fi
docker image rm "$staging" >/dev/null 2>&1 || true
id=$(docker image inspect --format '{{.Id}}' "$IMAGE")
say "imported in $(since "$t")"

# The image must start and have both servers on PATH.
versions=$(docker run --rm "$IMAGE" sh -c 'postgres --version && redis-server --version') \
  || die "$IMAGE does not run"
say "$(echo "$versions" | tr '\n' ';' | sed 's/;$//; s/;/; /')"

# The image this one replaces, unless a container still uses it.
if [[ -n $old && $old != "$id" ]]; then
  docker image rm "$old" >/dev/null 2>&1 || true
fi

say "done in $(since "$start")"
echo "$IMAGE $id"
