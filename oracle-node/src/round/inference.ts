// What the round engine needs from inference (implemented by oracle-node/src/inference's InferenceEngine).
export interface InferenceResult {
  /** Fixed-point int64 outputs exactly as they go into the report. */
  output: bigint[];
  modelHash: Uint8Array;
  inputHash: Uint8Array;
}

export interface Inferencer {
  infer(model: string, input: Uint8Array): Promise<InferenceResult>;
}
