// Load-time check that a manifest describes its ONNX graph: every declared input/output exists, is a
// tensor of the declared dtype, has a dynamic batch dimension (the engine pads and batches rows) and the
// declared width. Catches a wrong third-party manifest when the node starts, not at the first request.
import type { ModelManifest } from '@destra/models';
import { ModelSignatureError } from './errors.ts';

/** What onnxruntime reports about one graph input or output (InferenceSession.inputMetadata). */
export type ValueMetadata = { name: string; isTensor: false } | { name: string; isTensor: true; type: string; shape: readonly (number | string)[] };

function find(model: string, kind: 'input' | 'output', name: string, meta: readonly ValueMetadata[]): ValueMetadata & { isTensor: true } {
  const m = meta.find((x) => x.name === name);
  if (!m) throw new ModelSignatureError(model, `${kind}s.${name}`, `the ONNX graph has no ${kind} '${name}' (it has ${meta.map((x) => x.name).join(', ') || 'none'}); fix the manifest's ${kind}s`);
  if (!m.isTensor) throw new ModelSignatureError(model, `${kind}s.${name}`, `'${name}' is not a tensor (e.g. a ZipMap sequence of maps); export the model without it (skl2onnx: options={'zipmap': False})`);
  return m;
}

/** A dimension is static when onnxruntime reports a number (symbolic and unknown dims are strings). */
const isStatic = (d: number | string | undefined): d is number => typeof d === 'number' && d >= 0;

export function checkSignature(manifest: ModelManifest, inputs: readonly ValueMetadata[], outputs: readonly ValueMetadata[]): void {
  const model = manifest.name;
  for (const i of manifest.inputs) {
    const m = find(model, 'input', i.name, inputs);
    const field = `inputs.${i.name}`;
    if (m.type !== i.dtype) throw new ModelSignatureError(model, field, `the graph takes ${m.type}, the manifest says ${i.dtype}`);
    if (m.shape.length !== 2) throw new ModelSignatureError(model, field, `the graph's shape [${m.shape.join(', ')}] is not [batch, features]; the engine feeds rank-2 tensors`);
    if (isStatic(m.shape[0])) throw new ModelSignatureError(model, field, `the batch dimension is fixed at ${m.shape[0]}; re-export with a dynamic first dimension (the engine batches and pads rows)`);
    if (isStatic(m.shape[1]) && m.shape[1] !== i.shape[1]) throw new ModelSignatureError(model, field, `the graph has ${m.shape[1]} features, the manifest lists ${i.shape[1]}`);
  }
  const fed = new Set(manifest.inputs.map((i) => i.name));
  const unfed = inputs.filter((m) => !fed.has(m.name)).map((m) => m.name);
  if (unfed.length) throw new ModelSignatureError(model, 'inputs', `graph input(s) ${unfed.join(', ')} are missing from the manifest; every graph input must be fed`);
  for (const o of manifest.outputs) {
    const m = find(model, 'output', o.name, outputs);
    const field = `outputs.${o.name}`;
    if (m.type !== o.dtype) throw new ModelSignatureError(model, field, `the graph produces ${m.type}, the manifest says ${o.dtype}`);
    if (m.shape.length < 1 || m.shape.length > 2) throw new ModelSignatureError(model, field, `the graph's shape [${m.shape.join(', ')}] is not [batch] or [batch, columns]`);
    const width = m.shape.length === 2 ? m.shape[1] : 1;
    const bad = isStatic(width) ? o.columns.find((c) => c >= width) : undefined;
    if (bad !== undefined) throw new ModelSignatureError(model, field, `column ${bad} does not exist; the output has ${width} column(s)`);
  }
}
