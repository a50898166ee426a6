// Typed errors of the inference engine. `code` is stable; messages name the model and field at fault.
import { DestraError } from '@destra/protocol';

/** A request input was rejected before inference (length, range, dtype); `field` names the feature. */
export class InferenceInputError extends DestraError {
  readonly model: string;
  readonly field: string | undefined;
  constructor(model: string, message: string, field?: string) {
    super('INFERENCE_INPUT', `model '${model}': ${field ? `input '${field}': ` : ''}${message}`);
    this.name = 'InferenceInputError';
    this.model = model;
    this.field = field;
  }
}

/** A model output cannot be canonicalised (NaN, infinity, or beyond the exact int64 range). */
export class InferenceOutputError extends DestraError {
  readonly model: string;
  readonly field: string;
  constructor(model: string, field: string, message: string) {
    super('INFERENCE_OUTPUT', `model '${model}': output '${field}': ${message}`);
    this.name = 'InferenceOutputError';
    this.model = model;
    this.field = field;
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
