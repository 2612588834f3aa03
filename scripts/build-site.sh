#!/usr/bin/env bash
# Builds the site the server embeds (target/site) with cargo, wasm-bindgen and wasm-opt, the
# way cargo-leptos does for a release, without needing cargo-leptos:
#
#   pkg/berth.js, pkg/berth_bg.wasm   the hydrating frontend (crate `frontend`, profile
#                                     wasm-release), wasm-bindgen --target web, wasm-opt -Oz
#   pkg/berth.css                     style/main.css
#   the files of public/              at the site's root
#   <file>.br, <file>.gz              precompressed forms (scripts/precompress.mjs)
#
# Incremental by content, not by time: wasm-bindgen and wasm-opt run only when the wasm cargo
# produced (or one of the two tools) changed, and a file in target/site is written only when
# its bytes differ, so an unchanged site leaves the server's embedded copy (and so the server
# build) alone.
#
#   scripts/build-site.sh            (CARGO_TARGET_DIR and CARGO are honoured)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO="${CARGO:-cargo}"
TARGET="$(mkdir -p "${CARGO_TARGET_DIR:-$ROOT/target}" && cd "${CARGO_TARGET_DIR:-$ROOT/target}" && pwd)"
SITE="$ROOT/target/site"
PROFILE=wasm-release
NAME=berth
WORK="$TARGET/berth-site"

for tool in wasm-bindgen wasm-opt node; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "build-site: $tool not found; run scripts/ensure-deps.sh (as root on Debian) to install it" >&2
    exit 1
  }
done

start=$(date +%s)
(cd "$ROOT" && "$CARGO" build -p frontend --lib --target wasm32-unknown-unknown --profile "$PROFILE")
wasm="$TARGET/wasm32-unknown-unknown/$PROFILE/frontend.wasm"
[[ -f "$wasm" ]] || { echo "build-site: cargo built no $wasm" >&2; exit 1; }

# What the optimised output depends on: the wasm and the versions of the two tools.
key="$( { sha256sum <"$wasm"; wasm-bindgen --version; wasm-opt --version; } | sha256sum | cut -d' ' -f1)"
mkdir -p "$WORK"
if [[ -f "$WORK/key" && "$(cat "$WORK/key")" == "$key" && -f "$WORK/out/${NAME}_bg.wasm" ]]; then
  echo "build-site: the wasm is unchanged; wasm-bindgen and wasm-opt skipped"
else
  rm -rf "$WORK/out" "$WORK/key"
  mkdir -p "$WORK/out"
  echo "build-site: wasm-bindgen"
  wasm-bindgen --target web --no-typescript --out-name "$NAME" --out-dir "$WORK/out" "$wasm"
  echo "build-site: wasm-opt -Oz"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$WORK/out/${NAME}_bg.wasm" -o "$WORK/out/${NAME}_bg.wasm.opt"
  mv "$WORK/out/${NAME}_bg.wasm.opt" "$WORK/out/${NAME}_bg.wasm"
  echo "$key" >"$WORK/key"
fi

# Copies $1 to $2 unless $2 already holds the same bytes (its time then stays as it was).
changed=0
put() {
  if ! cmp -s "$1" "$2"; then
    mkdir -p "$(dirname "$2")"
    cp "$1" "$2.tmp" && mv "$2.tmp" "$2"
    changed=$((changed + 1))
  fi
}

declare -A made=()
while IFS= read -r -d '' f; do
  rel="${f#"$WORK/out/"}"
  put "$f" "$SITE/pkg/$rel"
  made["pkg/$rel"]=1
done < <(find "$WORK/out" -type f -print0)
put "$ROOT/style/main.css" "$SITE/pkg/$NAME.css"
made["pkg/$NAME.css"]=1
if [[ -d "$ROOT/public" ]]; then
  while IFS= read -r -d '' f; do
    rel="${f#"$ROOT/public/"}"
    put "$f" "$SITE/$rel"
    made["$rel"]=1
  done < <(find "$ROOT/public" -type f -not -name '.*' -print0)
fi

# Files an earlier build (or cargo-leptos, or a file since removed from public/) left in the
# site that this build did not make would be embedded and served too: remove them.
while IFS= read -r -d '' f; do
  rel="${f#"$SITE/"}"
  base="${rel%.br}"
  base="${base%.gz}"
  if [[ -z "${made[$base]:-}" ]]; then
    rm -f "$f"
    changed=$((changed + 1))
  fi
done < <(find "$SITE" -type f -print0)
find "$SITE" -mindepth 1 -type d -empty -delete

node "$ROOT/scripts/precompress.mjs" "$SITE"
echo "build-site: $SITE ready in $(($(date +%s) - start))s ($changed file(s) changed)"
