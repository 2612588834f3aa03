#!/usr/bin/env bash
# Builds the demo site images Berth's deploy tests use: `berth-demo:TAG`, FROM scratch, with
# the static `berth-demo` binary (demo/). Each image reports TAG as its version.
#
#   scripts/demo-image.sh                       # berth-demo:v1 and berth-demo:v2
#   scripts/demo-image.sh v3                    # berth-demo:v3
#   scripts/demo-image.sh --env DEMO_START_UNHEALTHY=1 v2-unhealthy
#                                               # ENV baked into every image of this run
#
# Prints `berth-demo:TAG <image id>` per image, and where the static `berth-load` binary is.
# Re-running with nothing changed is quick: cargo and the docker layer cache do no work.
#
# Environment:
#   CARGO_TARGET_DIR     cargo's target dir (default $HOME/.cache/berth-target)
#   BERTH_DEMO_BIN_DIR   where to put berth-load (default: the release dir, where it is built)
#   CARGO                cargo command (default cargo)
set -euo pipefail

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() {
  echo "demo-image: $*" >&2
  exit 1
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=x86_64-unknown-linux-gnu
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/berth-target}
release_dir=$CARGO_TARGET_DIR/$target/release
bin_dir=${BERTH_DEMO_BIN_DIR:-$release_dir}

envs=()
tags=()
version_override=
while (($#)); do
  case $1 in
    --env)
      (($# >= 2)) || usage
      envs+=("$2")
      shift 2
      ;;
    --env=*)
      envs+=("${1#--env=}")
      shift
      ;;
    -h | --help) usage ;;
    -*) echo "demo-image: unknown option $1" >&2 && usage ;;
    *)
      tags+=("$1")
      shift
      ;;
  esac
done
((${#tags[@]})) || tags=(v1 v2)

for tag in "${tags[@]}"; do
  [[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid image tag: $tag"
done

# Each --env K=V becomes `ENV K="V"`, quoted so that spaces, quotes and `$` survive.
env_lines=()
for kv in "${envs[@]}"; do
  [[ $kv == *=* ]] || die "--env needs K=V, got: $kv"
  key=${kv%%=*}
  value=${kv#*=}
  [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "invalid variable name: $key"
  value=${value//\\/\\\\}
  value=${value//\"/\\\"}
  value=${value//\$/\\\$}
  env_lines+=("ENV $key=\"$value\"")
  [[ $key != DEMO_VERSION ]] || version_override=${kv#*=}
done

command -v docker >/dev/null || die "docker is not installed (no 'docker' on PATH)"
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable (is it running? DOCKER_HOST=${DOCKER_HOST:-unset})"

cargo=${CARGO:-cargo}
command -v "$cargo" >/dev/null || die "cargo is not installed (no '$cargo' on PATH)"
echo "demo-image: building the static binaries (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)" >&2
(cd "$root" && RUSTFLAGS='-C target-feature=+crt-static' "$cargo" build \
  --release -p berth-demo --bins --target "$target")

demo_bin=$release_dir/berth-demo
load_bin=$release_dir/berth-load
[[ -x $demo_bin && -x $load_bin ]] || die "cargo did not produce $demo_bin and $load_bin"

# A scratch image has no loader and no libc: anything dynamic would fail to start.
if command -v file >/dev/null; then
  file -L "$demo_bin" | grep -Eq 'statically linked|static-pie linked' \
    || die "$demo_bin is not statically linked: $(file -L "$demo_bin")"
elif command -v ldd >/dev/null && ldd "$demo_bin" >/dev/null 2>&1; then
  ldd "$demo_bin" | grep -Eq 'statically linked|not a dynamic' \
    || die "$demo_bin is not statically linked"
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/berth-demo-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
context=$stage/context
mkdir "$context"
cp "$demo_bin" "$context/berth-demo"
cp "$root/demo/Dockerfile" "$context/Dockerfile"
for line in "${env_lines[@]}"; do
  echo "$line" >>"$context/Dockerfile"
done

for tag in "${tags[@]}"; do
  image=berth-demo:$tag
  # The build log (and docker's legacy-builder notice) is shown only when the build fails.
  if ! docker build --build-arg "VERSION=$tag" --tag "$image" "$context" >"$stage/build.log" 2>&1; then
    cat "$stage/build.log" >&2
    die "docker build failed for $image"
  fi
  # The image must start: this catches a binary that cannot run without a libc.
  reported=$(docker run --rm --entrypoint /berth-demo "$image" version) \
    || die "$image does not run"
  expected=${version_override:-$tag}
  [[ $reported == "$expected" ]] || die "$image reports version '$reported', expected '$expected'"
  echo "$image $(docker image inspect --format '{{.Id}}' "$image")"
done

if [[ $bin_dir != "$release_dir" ]]; then
  mkdir -p "$bin_dir"
  cp "$load_bin" "$bin_dir/berth-load"
fi
echo "berth-load $bin_dir/berth-load"
