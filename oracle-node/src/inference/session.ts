// onnxruntime session creation with settings fixed for determinism (docs/determinism.md):
//   - sequential execution, one inter-op thread: operators run in one fixed order;
//   - intra-op threads configurable (default 1); MLAS splits work across rows, never inside a dot
//     product, so the thread count does not change any row's arithmetic (measured by `destra models check`);
//   - graph optimisation level fixed by configuration (default 'all'; node operators should all use one
//     level, and `models check` proves it makes no difference for the shipped zoo);
//   - CPU memory arena and memory-pattern planning off: buffers are allocated per run, so no state
//     carries from one run to the next;
//   - denormals are kept (no flush-to-zero), the IEEE default every backend implements.
// CUDA is tried when a GPU is present (or requested) and falls back to CPU with a log line.
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { InferenceRuntimeError } from './errors.ts';

export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';
export type ProviderChoice = 'auto' | 'cpu' | 'cuda';

export interface SessionSettings {
  intraOpThreads: number;
  graphOptimization: GraphOptimization;
  executionProvider: ProviderChoice;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  provider: 'cpu' | 'cuda';
}

/** True when an NVIDIA device node exists (the CUDA EP can only work then). */
export function gpuPresent(): boolean {
  return existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0');
}

export function sessionOptions(s: SessionSettings, provider: 'cpu' | 'cuda'): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: provider === 'cuda' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
    intraOpNumThreads: s.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: s.graphOptimization,
    enableCpuMemArena: false,
    enableMemPattern: false,
    logSeverityLevel: 3,
    extra: { session: { set_denormal_as_zero: '0', use_env_allocators: '0' } },
  };
}

export async function createSession(model: string, bytes: Uint8Array, s: SessionSettings, log?: Logger): Promise<CreatedSession> {
  const wantCuda = s.executionProvider === 'cuda' || (s.executionProvider === 'auto' && gpuPresent());
  if (wantCuda) {
    try {
      return { session: await ort.InferenceSession.create(bytes, sessionOptions(s, 'cuda')), provider: 'cuda' };
    } catch (e) {
      log?.warn({ model, err: (e as Error).message }, 'CUDA execution provider unavailable; falling back to CPU');
    }
  }
  try {
    return { session: await ort.InferenceSession.create(bytes, sessionOptions(s, 'cpu')), provider: 'cpu' };
  } catch (e) {
    throw new InferenceRuntimeError(model, `onnxruntime could not create a session: ${(e as Error).message}`);
  }
}
