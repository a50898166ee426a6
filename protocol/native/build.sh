#!/usr/bin/env bash
# Builds the optional native addon (protocol/native/destra_native.node) from crates.io sources.
# Uses Debian's cargo when programs/build.sh installed it, else any cargo on PATH; without one it
# prints a note and exits 0 (the protocol then runs on mcl-wasm / noble).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/destra_native.node"
CARGO="$(command -v /usr/bin/cargo || command -v cargo || true)"
if [ -z "$CARGO" ]; then echo "native: no cargo found; skipping the native backend" >&2; exit 0; fi
RUSTC="$(command -v /usr/bin/rustc || command -v rustc)"
stamp="$HERE/target/.sources-sha"
sum=$(cat "$HERE/Cargo.toml" "$HERE/build.rs" "$HERE"/src/*.rs | sha256sum | cut -d' ' -f1)
if [ -f "$OUT" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then exit 0; fi
cd "$HERE"
RUSTC="$RUSTC" CARGO_TARGET_DIR="$HERE/target" nice "$CARGO" build --release -j 2 --quiet
cp "$HERE/target/release/libdestra_native.so" "$OUT"
echo "$sum" > "$stamp"
echo "native: wrote protocol/native/destra_native.node"
