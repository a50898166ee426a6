// Canonical input bytes of a model from plain feature values (what on-chain requests carry): each value
// × the manifest's input scale, as int64 big-endian. Usage: tsx examples/encode-input.ts <model> <values…>
import { loadModels } from '@destra/models';
import { encodeInput } from '@destra/adapter-ethereum';
import { toHex } from 'viem';

const [model, ...values] = process.argv.slice(2);
if (!model || values.length === 0) throw new Error('usage: encode-input.ts <model> <value> [value…]');
const { inputs } = loadModels(undefined, [model])[0]!.manifest;
const features = inputs.flatMap((i) => i.features.map((f) => ({ ...f, scale: i.scale })));
if (values.length !== features.length) throw new Error(`${model} takes ${features.length} values (${features.map((f) => f.name).join(', ')}), got ${values.length}`);
console.log(toHex(encodeInput(values.map((v, j) => BigInt(Math.round(Number(v) * features[j]!.scale))))));
