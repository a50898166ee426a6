#!/usr/bin/env bash
# Idempotent set-up for a fresh clone: npm packages, compiled contracts, the Solana programs (.so), the
# native crypto addon and,
# with --test, the headless browser the dashboard test drives. Each step is skipped when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
with_test=0
for arg in "$@"; do [ "$arg" = "--test" ] && with_test=1; done

step() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }

# apt is only used when something is missing; update the index once per run.
apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then echo "need root (or sudo) to apt-get install $*" >&2; exit 1; fi
  if [ $apt_updated = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
export -f apt_install 2>/dev/null || true

# 1. npm workspaces (lockfile-exact; re-run when the lockfile changes)
stamp=node_modules/.destra-lock-stamp
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  step "installing npm packages (npm ci)"
  # the CUDA EP binaries are a NuGet download this environment cannot reach (onnxruntime-node bundles its
  # CPU runtime); a GPU host with access sets ONNXRUNTIME_NODE_INSTALL=cuda12 (see .npmrc)
  ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}" npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
fi

# 2. Solidity contracts -> contracts/out (skipped when sources are unchanged)
if [ -f contracts/scripts/compile.ts ]; then
  step "compiling contracts"
  npx --no-install tsx contracts/scripts/compile.ts
fi

# 3. Solana programs -> programs/target/deploy/*.so (toolchain from Debian + crates.io, cached)
if [ -f programs/build.sh ]; then
  step "building Solana programs"
  bash programs/build.sh
fi

# 4. Native crypto addon (blst + sha3 via napi-rs) -> protocol/native/destra_native.node (cached)
if [ -f protocol/native/build.sh ] && [ "${DESTRA_NATIVE:-1}" != 0 ]; then
  step "building the native crypto addon"
  bash protocol/native/build.sh
fi

# 5. Headless Chromium for the dashboard test
if [ $with_test = 1 ] && [ ! -x /usr/bin/chromium ]; then
  step "installing Debian chromium for the dashboard test"
  apt_install chromium
fi
# 6. onnxruntime's CUDA execution provider from PyPI wheels, only where a GPU exists (cached)
if command -v nvidia-smi >/dev/null 2>&1 && [ -f scripts/install-cuda-ep.sh ]; then
  step "installing the CUDA execution provider (GPU found)"
  bash scripts/install-cuda-ep.sh || echo "[bootstrap] CUDA execution provider not installed; the node runs on CPU" >&2
fi
# 6. Network namespace tools for the chaos tests (test/chaos: ip netns, tc, nftables; iptables for the
#    NFQUEUE rule that feeds netdelay, ping for its RTT self-test)
if [ $with_test = 1 ] && { ! command -v ip >/dev/null || ! command -v tc >/dev/null || ! command -v nft >/dev/null || ! command -v iptables >/dev/null || ! command -v ping >/dev/null; }; then
  step "installing iproute2, nftables, iptables and ping for the chaos tests"
  apt_install iproute2 nftables iptables iputils-ping
fi
# 7. netdelay: delay/jitter/reordering for the chaos tests where the kernel has no sch_netem (Rust, nfq crate)
if [ $with_test = 1 ] && [ -f test/chaos/netdelay/Cargo.toml ]; then
  step "building test/chaos/netdelay"
  cargo_bin=$(command -v cargo || echo /usr/bin/cargo)
  "$cargo_bin" build --release -j1 --quiet --manifest-path test/chaos/netdelay/Cargo.toml
fi
step "ready"
