#!/usr/bin/env bash
# Builds the three test fixture images without any container registry (none is reachable on the
# test machines): one Debian bookworm root filesystem made by debootstrap, holding PostgreSQL 15,
# nginx and Node.js plus the start scripts in scripts/fixtures/, imported once with `docker import`
# and committed three ways, each with its own entrypoint:
#
#   lattice-fixture/postgres:15     the official postgres image's env contract, port 5432
#   lattice-fixture/minio:latest    an S3 server on 9000 (s3rver behind a SigV4-checking front),
#                                   MINIO_ROOT_USER/MINIO_ROOT_PASSWORD, /minio/health/live, 9001
#   lattice-fixture/nginx:latest    nginx in the foreground on port 80
#
# Cached twice over: the images carry a label with a hash of the fixture sources (this file and
# scripts/fixtures/**), so an unchanged tree exits in seconds; the debootstrap output stays in
# $LATTICE_FIXTURES_CACHE (default /var/cache/lattice-fixtures), so editing a start script rebuilds
# the images in seconds without fetching Debian again. LATTICE_FIXTURES_FORCE=1 rebuilds anyway;
# LATTICE_FIXTURES_MIRROR overrides the Debian mirror (default: the one in /etc/apt/sources.list.d).
# Needs root (debootstrap, chroot), a running Docker Engine, debootstrap, tar and npm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/scripts/fixtures"
CACHE="${LATTICE_FIXTURES_CACHE:-/var/cache/lattice-fixtures}"
SUITE=bookworm
# Start scripts need only what minbase has (bash, coreutils, util-linux's setpriv).
PACKAGES="postgresql-15,nginx-light,nodejs"
IMAGES=(lattice-fixture/postgres:15 lattice-fixture/minio:latest lattice-fixture/nginx:latest)
STARTED=$SECONDS

say() { echo "fixtures: $* ($((SECONDS - STARTED)) s)"; }
die() {
  echo "fixtures: ERROR: $*" >&2
  exit 1
}

# --- what is there ----------------------------------------------------------------------------

command -v docker >/dev/null 2>&1 || die "no docker command found; install docker.io (or run: bash .ci/run)"
if ! docker info >/dev/null 2>&1; then
  die "no Docker Engine answers at ${DOCKER_HOST:-/var/run/docker.sock}; start one with
  dockerd --storage-driver=overlay2 >/tmp/dockerd.log 2>&1 &
or run: bash .ci/run"
fi

cd "$ROOT"
HASH="$(
  {
    echo "$SUITE $PACKAGES"
    sha256sum scripts/fixtures.sh
    find scripts/fixtures -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)"

image_hash() { docker image inspect -f '{{ index .Config.Labels "lattice.fixture.hash" }}' "$1" 2>/dev/null || true; }

up_to_date() {
  local image
  for image in "${IMAGES[@]}"; do
    [ "$(image_hash "$image")" = "$HASH" ] || return 1
  done
}

if [ "${LATTICE_FIXTURES_FORCE:-0}" != 1 ] && up_to_date; then
  say "images up to date (sources hash $HASH): ${IMAGES[*]}"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "building the fixture images needs root (debootstrap and chroot); run as root"
command -v npm >/dev/null 2>&1 || die "npm is missing (needed to install the S3 server into the image)"

mkdir -p "$CACHE"
# Two builds at once would fight over the same root filesystem: the second waits for the first.
exec 9>"$CACHE/lock"
if ! flock -n 9; then
  say "another build holds $CACHE/lock; waiting for it"
  flock 9
  if [ "${LATTICE_FIXTURES_FORCE:-0}" != 1 ] && up_to_date; then
    say "images up to date (built by the other run): ${IMAGES[*]}"
    exit 0
  fi
fi

# --- root filesystem (debootstrap, cached) ------------------------------------------------------

debian_mirror() {
  if [ -n "${LATTICE_FIXTURES_MIRROR:-}" ]; then
    echo "$LATTICE_FIXTURES_MIRROR"
    return
  fi
  # deb822 sources: the URIs of the stanza whose Suites hold plain "bookworm" (not -security).
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    uri="$(awk -v suite="$SUITE" '
      /^[[:space:]]*$/ { if (u != "" && s) { print u; exit } u = ""; s = 0; next }
      /^URIs:/ { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) s = 1 }
      END { if (u != "" && s) print u }' "$f" | head -n1)"
    if [ -n "$uri" ]; then
      echo "$uri"
      return
    fi
  done
  # one-line sources
  uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == suite) { print $(i - 1); exit } }')"
  echo "${uri:-http://deb.debian.org/debian}"
}

MIRROR="$(debian_mirror)"
ROOTFS="$CACHE/rootfs-$(echo "$SUITE $PACKAGES $MIRROR" | sha256sum | cut -c1-12)"

if [ ! -e "$ROOTFS/.lattice-complete" ]; then
  command -v debootstrap >/dev/null 2>&1 ||
    die "debootstrap is missing: apt-get install -y debootstrap (or run: bash .ci/run)"
  rm -rf "$ROOTFS.partial"
  say "debootstrap $SUITE with $PACKAGES from $MIRROR into $ROOTFS (about a minute, once per machine)"
  if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS.partial" "$MIRROR" \
    >"$CACHE/debootstrap.log" 2>&1; then
    tail -n 30 "$CACHE/debootstrap.log" >&2
    die "debootstrap failed (full log: $CACHE/debootstrap.log)"
  fi
  R="$ROOTFS.partial"
  # Package caches, docs and the cluster Debian's postinst created are dead weight in an image:
  # the start script makes its own cluster in PGDATA.
  rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/usr/share/doc/* \
    "$R"/usr/share/man/* "$R"/usr/share/locale/* "$R"/var/lib/postgresql/15 "$R"/etc/postgresql/15 \
    "$R"/var/log/*.log "$R"/var/log/apt/* "$R"/var/log/nginx/*
  touch "$R/.lattice-complete"
  rm -rf "$ROOTFS"
  mv "$R" "$ROOTFS"
  say "debootstrap done"
else
  say "reusing root filesystem $ROOTFS"
fi

# --- the S3 server from npm (cached by its lock file) -------------------------------------------

S3_LOCK_HASH="$(cat "$SRC/minio/package.json" "$SRC/minio/package-lock.json" | sha256sum | cut -c1-12)"
S3_MODULES="$CACHE/s3-modules-$S3_LOCK_HASH"
if [ ! -e "$S3_MODULES/.lattice-complete" ]; then
  say "npm install of the S3 server (s3rver) for the minio fixture"
  rm -rf "$S3_MODULES"
  mkdir -p "$S3_MODULES"
  cp "$SRC/minio/package.json" "$SRC/minio/package-lock.json" "$S3_MODULES/"
  # Pure JavaScript: installed with the host's npm, run by the image's Debian Node.js.
  (cd "$S3_MODULES" && npm install --omit=dev --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null) ||
    die "npm install of the S3 server failed (is the npm registry reachable?)"
  touch "$S3_MODULES/.lattice-complete"
fi

# --- our files into the root filesystem ----------------------------------------------------------

say "installing start scripts into the root filesystem"
rm -rf "$ROOTFS/opt/lattice"
mkdir -p "$ROOTFS/opt/lattice/postgres" "$ROOTFS/opt/lattice/minio" "$ROOTFS/opt/lattice/nginx"
install -m 0755 "$SRC/postgres/entrypoint.sh" "$ROOTFS/opt/lattice/postgres/entrypoint.sh"
install -m 0755 "$SRC/minio/entrypoint.sh" "$ROOTFS/opt/lattice/minio/entrypoint.sh"
install -m 0644 "$SRC/minio/s3-server.mjs" "$SRC/minio/sigv4.mjs" "$SRC/minio/aws-chunked.mjs" \
  "$ROOTFS/opt/lattice/minio/"
cp -a "$S3_MODULES/node_modules" "$ROOTFS/opt/lattice/minio/node_modules"
install -m 0644 "$SRC/nginx/nginx.conf" "$ROOTFS/etc/nginx/nginx.conf"
mkdir -p "$ROOTFS/usr/share/nginx/html"
install -m 0644 "$SRC/nginx/index.html" "$ROOTFS/usr/share/nginx/html/index.html"
mkdir -p "$ROOTFS/data"

# --- images ------------------------------------------------------------------------------------

BASE="lattice-fixture/base:$HASH"
say "docker import of the root filesystem as $BASE"
tar -C "$ROOTFS" --numeric-owner --exclude=./.lattice-complete --exclude='./proc/*' --exclude='./sys/*' \
  --exclude='./dev/*' --exclude='./tmp/*' -c . |
  docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'CMD ["/bin/true"]' \
    -c 'LABEL lattice.fixture=1' \
    -c "LABEL lattice.fixture.hash=$HASH" \
    - "$BASE" >/dev/null

# commit NAME STOPSIGNAL CHANGE... — the base with its own start command and config, tagged NAME.
# `docker commit -c` cannot set STOPSIGNAL; the created container's stop signal is kept instead.
commit() {
  local name="$1" stop_signal="$2" container args=()
  shift 2
  for change in "$@"; do args+=(-c "$change"); done
  container="$(docker create --stop-signal "$stop_signal" "$BASE")"
  if ! docker commit "${args[@]}" -c 'LABEL lattice.fixture=1' -c "LABEL lattice.fixture.hash=$HASH" \
    "$container" "$name" >/dev/null; then
    docker rm "$container" >/dev/null
    die "docker commit of $name failed"
  fi
  docker rm "$container" >/dev/null
  say "built $name"
}

commit lattice-fixture/postgres:15 SIGINT \
  'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  'ENV PGDATA=/var/lib/postgresql/data' \
  'VOLUME /var/lib/postgresql/data' \
  'EXPOSE 5432' \
  'ENTRYPOINT ["/opt/lattice/postgres/entrypoint.sh"]' \
  'CMD ["postgres"]'

commit lattice-fixture/minio:latest SIGTERM \
  'VOLUME /data' \
  'EXPOSE 9000 9001' \
  'ENTRYPOINT ["/opt/lattice/minio/entrypoint.sh"]' \
  'CMD ["server", "/data", "--console-address", ":9001"]'

commit lattice-fixture/nginx:latest SIGQUIT \
  'EXPOSE 80' \
  'CMD ["nginx", "-g", "daemon off;"]'

# Older builds (other hashes) only take disk space now.
docker image ls --filter label=lattice.fixture=1 --format '{{.Repository}}:{{.Tag}} {{.ID}}' |
  while read -r ref id; do
    case "$ref" in
      lattice-fixture/base:*) [ "$ref" = "$BASE" ] || docker image rm "$ref" >/dev/null 2>&1 || true ;;
      *:"<none>") docker image rm "$id" >/dev/null 2>&1 || true ;;
    esac
  done

say "done: ${IMAGES[*]} (sources hash $HASH)"
