// What the round engine needs from inference (implemented by oracle-node/src/inference's InferenceEngine).
export interface InferenceResult {
  /** Fixed-point int64 outputs exactly as they go into the report. */
  output: bigint[];
  modelHash: Uint8Array;
  inputHash: Uint8Array;
}

export interface Inferencer {
  /**
   * Checks that `model` is served here and `input` is a valid canonical input for it (length, ranges),
   * without running it. Throws the engine's typed error. Called before a request is stored or sent, so
   * junk never reaches SQLite or the committee.
   */
  validate(model: string, input: Uint8Array): void;
  infer(model: string, input: Uint8Array): Promise<InferenceResult>;
  /** sha256 of the ONNX file serving `model`; throws UnknownModelError. Names the model in a failure report. */
  modelHash(model: string): Uint8Array;
}
