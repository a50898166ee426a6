// The node's hardware family: what decides whether a float ("same-family") model's outputs can differ
// from another node's (docs/determinism.md, "Hardware family"). MLAS (onnxruntime's CPU kernels) picks its
// float GEMM / activation kernels by instruction set (SSE, AVX, AVX2+FMA, AVX-512), so two CPUs of one
// vendor and one x86-64 micro-architecture level run the same kernels; a GPU runs its own (cuBLAS) kernels
// chosen by device model. Integer-only and exact-sum tree models ("any-hardware") ignore the family.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { arch } from 'node:os';

export interface HardwareFamily {
  /** CPU vendor id as the kernel reports it (GenuineIntel, AuthenticAMD, ARM implementer 0x41, ...). */
  cpuVendor: string;
  /** x86-64-v1..v4 (psABI micro-architecture levels) or the machine name on other architectures (aarch64). */
  isa: string;
  /** GPU model when the CUDA execution provider serves (e.g. "NVIDIA H200"), else null. */
  gpu: string | null;
  /** The family id compared with a model's pinned family: `cpu:<isa>:<vendor>` or `cuda:<gpu model>`. */
  id: string;
}

/** x86-64 psABI levels by the /proc/cpuinfo flags each one adds (pni = SSE3, abm = LZCNT). */
const X86_LEVELS: [string, string[]][] = [
  ['x86-64-v2', ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3']],
  ['x86-64-v3', ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave']],
  ['x86-64-v4', ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl']],
];

/** Pure: the highest x86-64 level whose flags (and every lower level's) are all present. */
export function x86Level(flags: ReadonlySet<string>): string {
  let level = 'x86-64-v1';
  for (const [name, need] of X86_LEVELS) {
    if (!need.every((f) => flags.has(f))) break;
    level = name;
  }
  return level;
}

/** Pure: vendor and ISA level from the text of /proc/cpuinfo and the machine architecture. */
export function cpuFamily(cpuinfo: string, machine: string): { cpuVendor: string; isa: string } {
  const field = (name: string): string | undefined => cpuinfo.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
  if (machine === 'x64' || machine === 'x86_64') {
    const flags = new Set((field('flags') ?? '').split(/\s+/).filter(Boolean));
    return { cpuVendor: field('vendor_id') ?? 'unknown', isa: x86Level(flags) };
  }
  // aarch64: "CPU implementer : 0x41" (Arm), 0x61 (Apple), 0xc0 (Ampere), ...
  const impl = field('CPU implementer');
  return { cpuVendor: impl ? `implementer-${impl}` : 'unknown', isa: machine === 'arm64' ? 'aarch64' : machine };
}

/** Pure: the family id of a CPU family, or of the GPU when the CUDA execution provider serves. */
export function familyId(f: { cpuVendor: string; isa: string; gpu: string | null }): string {
  return f.gpu ? `cuda:${f.gpu}` : `cpu:${f.isa}:${f.cpuVendor}`;
}

/**
 * The model of GPU 0 (what `deviceId: 0` runs on): from the driver's /proc entries, else `nvidia-smi`;
 * null when neither names one.
 */
export function gpuModel(): string | null {
  const dir = '/proc/driver/nvidia/gpus';
  try {
    if (existsSync(dir)) {
      const first = readdirSync(dir).sort()[0];
      const info = first ? readFileSync(`${dir}/${first}/information`, 'utf8') : '';
      const model = info.match(/^Model:\s*(.+)$/m)?.[1]?.trim();
      if (model) return model;
    }
  } catch {
    /* fall through to nvidia-smi */
  }
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader', '-i', '0'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out || null;
  } catch {
    return null;
  }
}

let cpuCache: { cpuVendor: string; isa: string } | undefined;

/** This machine's family for the given execution provider (the CPU part is read once). */
export function hardwareFamily(provider: 'cpu' | 'cuda' = 'cpu'): HardwareFamily {
  if (!cpuCache) {
    let info = '';
    try {
      info = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      /* not Linux: vendor unknown, level v1 (the most conservative family) */
    }
    cpuCache = cpuFamily(info, arch());
  }
  const gpu = provider === 'cuda' ? (gpuModel() ?? 'unknown-gpu') : null;
  return { ...cpuCache, gpu, id: familyId({ ...cpuCache, gpu }) };
}
