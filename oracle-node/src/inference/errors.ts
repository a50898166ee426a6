// Typed errors of the inference engine. `code` is stable; messages name the model and field at fault.
import { DestraError } from '@destra/protocol';

/**
 * A request input was rejected before inference; `field` names the feature. `problem` says what is wrong:
 * `length` (not one canonical row: byte count / value count) or `range` (a value outside the manifest
 * range, or not finite). Chain requests are answered with a failure report naming it (INPUT_LENGTH /
 * INPUT_RANGE, docs/report-format.md §1.1).
 */
export class InferenceInputError extends DestraError {
  readonly model: string;
  readonly field: string | undefined;
  readonly problem: 'length' | 'range';
  constructor(model: string, message: string, field?: string, problem: 'length' | 'range' = field === undefined ? 'length' : 'range') {
    super('INFERENCE_INPUT', `model '${model}': ${field ? `input '${field}': ` : ''}${message}`);
    this.name = 'InferenceInputError';
    this.model = model;
    this.field = field;
    this.problem = problem;
  }
}

/**
 * A model output cannot be canonicalised. `problem`: `value` (NaN, infinity, or beyond the exact int64
 * range: a property of this input, answered on chain with an OUTPUT_INVALID failure report) or `shape`
 * (the graph does not produce what the manifest describes: a node configuration fault, never signed).
 */
export class InferenceOutputError extends DestraError {
  readonly model: string;
  readonly field: string;
  readonly problem: 'value' | 'shape';
  constructor(model: string, field: string, message: string, problem: 'value' | 'shape' = 'shape') {
    super('INFERENCE_OUTPUT', `model '${model}': output '${field}': ${message}`);
    this.name = 'InferenceOutputError';
    this.model = model;
    this.field = field;
    this.problem = problem;
  }
}

/** The manifest does not describe its ONNX graph (name, dtype, shape); found when the model is loaded. */
export class ModelSignatureError extends DestraError {
  readonly model: string;
  readonly field: string;
  constructor(model: string, field: string, message: string) {
    super('MODEL_SIGNATURE', `model '${model}': manifest ${field}: ${message}`);
    this.name = 'ModelSignatureError';
    this.model = model;
    this.field = field;
  }
}

/** The requested model is not loaded (neither a name nor a sha256 of a loaded model). */
export class UnknownModelError extends DestraError {
  constructor(model: string, known: string[]) {
    super('UNKNOWN_MODEL', `model '${model}' is not loaded; use one of ${known.join(', ')} or its sha256`);
    this.name = 'UnknownModelError';
  }
}

/** onnxruntime failed to create a session or to run a batch. */
export class InferenceRuntimeError extends DestraError {
  constructor(model: string, message: string) {
    super('INFERENCE_RUNTIME', `model '${model}': ${message}`);
    this.name = 'InferenceRuntimeError';
  }
}

/** The engine was closed; create a new one with InferenceEngine.load. */
export class EngineClosedError extends DestraError {
  constructor() {
    super('ENGINE_CLOSED', 'the inference engine is closed; create a new one with InferenceEngine.load');
    this.name = 'EngineClosedError';
  }
}

/** A model this node will not serve: its self-check failed (selfcheck.ts); `reason` says why. */
export class ModelRefusedError extends DestraError {
  constructor(
    readonly model: string,
    readonly reason: string,
  ) {
    super('MODEL_REFUSED', `model '${model}' is not served: ${reason}`);
    this.name = 'ModelRefusedError';
  }
}
