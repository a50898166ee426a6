#!/usr/bin/env bash
# Builds the Solana programs to real SBF (SBPF v0) shared objects without Solana's platform-tools:
#   Debian rustc-web (rustc 1.96, LLVM 22) + rust-web-src, RUSTC_BOOTSTRAP=1 -Zbuild-std=core,alloc for
#   the upstream target bpfel-unknown-none, linked by sbpf-linker (crates.io) built against Debian's LLVM 22.
# Idempotent: installs what is missing (apt, cargo install into programs/.toolchain), then builds.
# Output: programs/target/deploy/destra_oracle.so and destra_consumer.so
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLCHAIN="$HERE/.toolchain"
LLVM_MAJOR=22
SBPF_LINKER_VERSION=0.2.6
APT_PACKAGES=(rustc-web cargo-web rust-web-src "llvm-$LLVM_MAJOR-dev" libzstd-dev zlib1g-dev libxml2-dev)
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build.sh: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

RUSTC=/usr/bin/rustc
CARGO=/usr/bin/cargo
llvm_of_rustc="$($RUSTC -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')"
if [ "$llvm_of_rustc" != "$LLVM_MAJOR" ]; then
  echo "build.sh: $RUSTC uses LLVM $llvm_of_rustc but sbpf-linker is built for LLVM $LLVM_MAJOR; set LLVM_MAJOR to match" >&2
  exit 1
fi

LINKER="$TOOLCHAIN/bin/sbpf-linker"
if [ ! -x "$LINKER" ]; then
  echo "build.sh: building sbpf-linker $SBPF_LINKER_VERSION against LLVM $LLVM_MAJOR (one-off, a few minutes)"
  # llvm-sys finds LLVM through llvm-config: put LLVM $LLVM_MAJOR's first (Debian's default may be older)
  # (a computed variable name cannot be a plain assignment prefix, hence `env`)
  env RUSTC="$RUSTC" PATH="/usr/lib/llvm-$LLVM_MAJOR/bin:$PATH" LIBRARY_PATH="/usr/lib/llvm-$LLVM_MAJOR/lib" \
    "LLVM_SYS_${LLVM_MAJOR}1_PREFIX=/usr/lib/llvm-$LLVM_MAJOR" \
    nice "$CARGO" install "sbpf-linker@$SBPF_LINKER_VERSION" --no-default-features \
    --features "bpf-linker/llvm-$LLVM_MAJOR" --root "$TOOLCHAIN" -j 2 --quiet
fi

cd "$HERE"
export RUSTC RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$HERE/target"
export RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -C linker=$LINKER -C target-cpu=v2 -C link-arg=--arch=v0 -C link-arg=--llvm-args=--bpf-stack-size=4096"
for crate in destra_oracle destra_consumer; do
  [ -f "$HERE/${crate#destra_}/Cargo.toml" ] || continue
  nice "$CARGO" build --release --target bpfel-unknown-none -Zbuild-std=core,alloc -p "$crate" -j "${CARGO_JOBS:-2}"
done
mkdir -p "$HERE/target/deploy"
for crate in destra_oracle destra_consumer; do
  so="$HERE/target/bpfel-unknown-none/release/lib$crate.so"
  [ -f "$so" ] && cp "$so" "$HERE/target/deploy/$crate.so" && echo "build.sh: wrote target/deploy/$crate.so ($(stat -c %s "$so") bytes)"
done
