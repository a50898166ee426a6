// Many rows of one model at once, for ranges: the node's ONNX engine runs a whole range in one call
// (InferenceEngine.inferBatch, one onnxruntime run per maxRowsPerRun rows); any other Inferencer (test
// models) runs row by row. Rows are fixed-length canonical inputs back to back.
import type { InferenceEngine } from '../inference/engine.ts';
import { allocInputs, decodeRows } from '../inference/codec.ts';
import { InferenceInputError } from '../inference/errors.ts';
import type { Inferencer } from '../round/inference.ts';

export interface RangeInferencer {
  /** The model's hash and its canonical row length (undefined: rows of any fixed length the model accepts). Throws UnknownModelError. */
  describe(model: string): { modelHash: Uint8Array; rowLength: number | undefined };
  /** Throws InferenceInputError naming the first row (0-based, `row` property) that is not a valid input. */
  checkRows(model: string, rows: Uint8Array, rowLength: number): void;
  /** Canonical outputs back to back (count · k · 8 bytes, big-endian int64) and k. */
  run(model: string, rows: Uint8Array, rowLength: number): Promise<{ outputs: Uint8Array; k: number }>;
}

/** An input error of one row of a batch; `row` counts from 0 within the rows checked. */
export class RowInputError extends InferenceInputError {
  constructor(
    readonly row: number,
    cause: InferenceInputError,
  ) {
    super(cause.model, `row ${row}: ${cause.message}`, undefined, cause.problem);
    this.name = 'RowInputError';
  }
}

/** Rows decoded per validation step (one tensor buffer reused). */
const CHECK_CHUNK = 4096;

type Engine = Pick<InferenceEngine, 'plan' | 'inferBatch' | 'modelHash'>;
const isEngine = (x: Inferencer): x is Inferencer & Engine => typeof (x as Partial<Engine>).inferBatch === 'function' && typeof (x as Partial<Engine>).plan === 'function';

export function rangeInferencer(inference: Inferencer): RangeInferencer {
  return isEngine(inference) ? engineRows(inference) : rowByRow(inference);
}

function engineRows(engine: Engine): RangeInferencer {
  return {
    describe: (model) => ({ modelHash: engine.modelHash(model), rowLength: engine.plan(model).valueCount * 8 }),
    checkRows(model, rows, rowLength) {
      const plan = engine.plan(model);
      if (rowLength !== plan.valueCount * 8) throw new InferenceInputError(plan.model, `rows must be ${plan.valueCount * 8} bytes (${plan.valueCount} int64 values), got ${rowLength}`, undefined, 'length');
      const count = rows.length / rowLength;
      const tensors = allocInputs(plan, Math.min(CHECK_CHUNK, count));
      for (let r = 0; r < count; r += CHECK_CHUNK) {
        const n = Math.min(CHECK_CHUNK, count - r);
        try {
          decodeRows(plan, rows, r * rowLength, n, tensors, 0);
        } catch (err) {
          if (!(err instanceof InferenceInputError)) throw err;
          // Find the row at fault (decodeRows stops at the first one).
          const one = allocInputs(plan, 1);
          for (let i = r; i < r + n; i++) {
            try {
              decodeRows(plan, rows, i * rowLength, 1, one, 0);
            } catch (e) {
              throw new RowInputError(i, e as InferenceInputError);
            }
          }
          throw err;
        }
      }
    },
    async run(model, rows) {
      const outputs = await engine.inferBatch(model, rows);
      return { outputs, k: engine.plan(model).k };
    },
  };
}

function rowByRow(inference: Inferencer): RangeInferencer {
  return {
    describe: (model) => ({ modelHash: inference.modelHash(model), rowLength: undefined }),
    checkRows(model, rows, rowLength) {
      for (let i = 0; i * rowLength < rows.length; i++) {
        try {
          inference.validate(model, rows.subarray(i * rowLength, (i + 1) * rowLength));
        } catch (err) {
          if (err instanceof InferenceInputError) throw new RowInputError(i, err);
          throw err;
        }
      }
    },
    async run(model, rows, rowLength) {
      const count = rows.length / rowLength;
      const results = await Promise.all(Array.from({ length: count }, (_, i) => inference.infer(model, rows.subarray(i * rowLength, (i + 1) * rowLength))));
      const k = results[0]!.output.length;
      const outputs = new Uint8Array(count * k * 8);
      const dv = new DataView(outputs.buffer);
      results.forEach((r, i) => {
        if (r.output.length !== k) throw new InferenceInputError(model, `row ${i} produced ${r.output.length} outputs, row 0 produced ${k}; a range needs one output count`, undefined, 'length');
        r.output.forEach((v, j) => dv.setBigInt64((i * k + j) * 8, v));
      });
      return { outputs, k };
    },
  };
}
