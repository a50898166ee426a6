#!/usr/bin/env bash
# Installs onnxruntime's CUDA execution provider for onnxruntime-node from registry packages (PyPI), for
# hosts with an NVIDIA GPU (bootstrap runs it when nvidia-smi exists; --force runs it anyway).
#
# onnxruntime-node's own CUDA download comes from NuGet (not reachable here, see .npmrc). The PyPI wheel
# onnxruntime-gpu of the SAME version holds the same two provider libraries, which onnxruntime loads from
# the directory of libonnxruntime.so.1 (ProviderLibrary: the runtime path, i.e. the binding's directory,
# where NuGet's copy would have gone):
#   libonnxruntime_providers_shared.so, libonnxruntime_providers_cuda.so
# The CUDA libraries these need (cudart, cuBLAS/cuBLASLt, cuRAND, cuFFT, nvrtc, cuDNN) come from NVIDIA's
# PyPI wheels, as the wheel's own [cuda,cudnn] extras name them (resolved by pip from its metadata). They
# live in .cuda-ep/site/nvidia/*/lib; their directories are written to .cuda-ep/ld-library-path, which
# bin/destra.mjs adds to LD_LIBRARY_PATH (other processes: `source .cuda-ep/env.sh`). The driver
# (libcuda.so.1) is the host's.
set -euo pipefail
cd "$(dirname "$0")/.."
force=0
for a in "$@"; do [ "$a" = "--force" ] && force=1; done
say() { printf '\033[1m[cuda-ep]\033[0m %s\n' "$*"; }

if [ $force = 0 ] && ! command -v nvidia-smi >/dev/null 2>&1; then
  say "no nvidia-smi: no GPU here, nothing to install (the CPU execution provider is used)"
  exit 0
fi
if [ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]; then
  say "the PyPI onnxruntime-gpu wheel is for Linux x86-64 only; this is $(uname -s)/$(uname -m): CPU only"
  exit 0
fi

ort_pkg=node_modules/onnxruntime-node
[ -f "$ort_pkg/package.json" ] || { echo "install-cuda-ep: $ort_pkg is missing; run npm ci first" >&2; exit 1; }
version=$(node -p "require('./$ort_pkg/package.json').version")
bin_dir=$(dirname "$(ls "$ort_pkg"/bin/napi-v*/linux/x64/libonnxruntime.so.1 | head -n1)")
[ -d "$bin_dir" ] || { echo "install-cuda-ep: no libonnxruntime.so.1 under $ort_pkg/bin/napi-v*/linux/x64" >&2; exit 1; }

dest=.cuda-ep
site=$dest/site
stamp=$dest/installed-$version
if [ ! -f "$stamp" ]; then
  say "installing onnxruntime-gpu==$version and its CUDA/cuDNN runtime wheels into $site"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --upgrade \
    --target "$site" "onnxruntime-gpu[cuda,cudnn]==$version"
  touch "$stamp"
fi

capi=$site/onnxruntime/capi
for lib in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
  [ -f "$capi/$lib" ] || { echo "install-cuda-ep: $capi/$lib not found in the onnxruntime-gpu wheel" >&2; exit 1; }
  if ! cmp -s "$capi/$lib" "$bin_dir/$lib"; then
    say "placing $lib next to the binding ($bin_dir)"
    cp "$capi/$lib" "$bin_dir/$lib"
  fi
done

# every nvidia/*/lib directory of the wheels, absolute
: > "$dest/ld-library-path.tmp"
for d in "$PWD/$site"/nvidia/*/lib; do [ -d "$d" ] && printf '%s\n' "$d" >> "$dest/ld-library-path.tmp"; done
paste -sd: "$dest/ld-library-path.tmp" > "$dest/ld-library-path"
rm -f "$dest/ld-library-path.tmp"
printf 'export LD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"\n' "$(cat "$dest/ld-library-path")" > "$dest/env.sh"
say "ready: the engine's executionProvider 'auto' picks CUDA when a GPU is present; check it with npx destra models check --backends cpu,cuda"
