// Deterministic ONNX inference for the oracle node (docs/determinism.md, docs/models.md).
export { InferenceEngine, createInferenceEngine, engineOptionsSchema } from './engine.ts';
export type { EngineOptions, InferenceOutput, ModelInfo } from './engine.ts';
export { roundHalfEven, encodeInput, decodeInputValues, decodeRows, canonicalizeRows, outputValues, planFor, allocInputs } from './codec.ts';
export type { ModelPlan, InputPlan, OutputPlan } from './codec.ts';
export { MicroBatcher } from './batcher.ts';
export { checkSignature } from './signature.ts';
export { gpuPresent, sessionOptions } from './session.ts';
export type { GraphOptimization, ProviderChoice, SessionSettings, Logger } from './session.ts';
export * from './errors.ts';
export { checkAgreement, checkConfigs, sampleInputs } from './check.ts';
export type { CheckConfig, AgreementResult } from './check.ts';
export { hardwareFamily, cpuFamily, familyId, x86Level, gpuModel } from './hardware.ts';
export type { HardwareFamily } from './hardware.ts';
export { runSelfCheck, familyAllows, exactnessOf, pinnedFamily } from './selfcheck.ts';
export type { SelfCheckResult, ReferenceVectors, Exactness, ModelsHealth } from './selfcheck.ts';
export { loadReferenceVectors, referenceFromBytes } from './reference.ts';
