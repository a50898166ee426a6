// Checks a manifest's `exactness: "any-hardware"` claim against the ONNX graph itself, so a publisher cannot
// label a float graph hardware-exact (nodes would then demand bit-equality that float kernels cannot give).
// Two shapes pass: an integer-only graph (every tensor between input and output integer-typed, every op from a
// small list whose integer semantics are exact), or a single ONNX-ML tree ensemble whose leaf weights are dyadic
// and small enough that every partial sum is exact in float32 (docs/determinism.md).
import { reader, type Reader } from 'protons-runtime';

// onnx.proto TensorProto.DataType
const FLOAT = 1;
const INTEGER_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]); // uint8 int8 uint16 int16 int32 int64 bool uint32 uint64
const INT8_TYPES = new Set([2, 3]);
const TYPE_NAMES: Record<number, string> = { 1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64' };
const typeName = (t: number | undefined): string => (t === undefined ? 'unknown' : (TYPE_NAMES[t] ?? `type ${t}`));

interface Attr { name: string; type: number; i?: bigint; floats: number[]; ints: bigint[]; strings: string[]; s?: string }
interface Node { opType: string; domain: string; inputs: string[]; outputs: string[]; attrs: Attr[] }
interface Graph { nodes: Node[]; inits: Map<string, number>; inputs: Map<string, number>; outputs: Map<string, number> }

const utf8 = new TextDecoder();

function each(buf: Uint8Array, on: (field: number, wire: number, r: Reader) => boolean): void {
  const r = reader(buf);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (!on(field, wire, r)) r.skipType(wire);
  }
}

function parseAttr(buf: Uint8Array): Attr {
  const a: Attr = { name: '', type: 0, floats: [], ints: [], strings: [] };
  each(buf, (f, w, r) => {
    if (f === 1 && w === 2) a.name = r.string();
    else if (f === 20 && w === 0) a.type = r.int32();
    else if (f === 3 && w === 0) a.i = r.int64();
    else if (f === 4 && w === 2) a.s = utf8.decode(r.bytes());
    else if (f === 7 && w === 2) { const b = r.bytes(); const dv = new DataView(b.buffer, b.byteOffset, b.byteLength); for (let o = 0; o + 4 <= b.length; o += 4) a.floats.push(dv.getFloat32(o, true)); }
    else if (f === 7 && w === 5) a.floats.push(r.float());
    else if (f === 8 && w === 2) { const end = r.uint32() + r.pos; while (r.pos < end) a.ints.push(r.int64()); }
    else if (f === 8 && w === 0) a.ints.push(r.int64());
    else if (f === 9 && w === 2) a.strings.push(utf8.decode(r.bytes()));
    else return false;
    return true;
  });
  return a;
}

function parseValueInfo(buf: Uint8Array): [string, number | undefined] {
  let name = '';
  let elem: number | undefined;
  each(buf, (f, w, r) => {
    if (f === 1 && w === 2) name = r.string();
    else if (f === 2 && w === 2) each(r.bytes(), (tf, tw, tr) => (tf === 1 && tw === 2 ? (each(tr.bytes(), (ef, ew, er) => (ef === 1 && ew === 0 ? ((elem = er.int32()), true) : false)), true) : false));
    else return false;
    return true;
  });
  return [name, elem];
}

/** The parts of an ONNX ModelProto the check needs (graph nodes, initializer and input/output types). */
export function parseOnnxGraph(model: Uint8Array): Graph {
  const g: Graph = { nodes: [], inits: new Map(), inputs: new Map(), outputs: new Map() };
  each(model, (f, w, r) => {
    if (f !== 7 || w !== 2) return false;
    each(r.bytes(), (gf, gw, gr) => {
      if (gw !== 2) return false;
      if (gf === 1) {
        const n: Node = { opType: '', domain: '', inputs: [], outputs: [], attrs: [] };
        each(gr.bytes(), (nf, nw, nr) => {
          if (nw !== 2) return false;
          if (nf === 1) n.inputs.push(nr.string());
          else if (nf === 2) n.outputs.push(nr.string());
          else if (nf === 4) n.opType = nr.string();
          else if (nf === 7) n.domain = nr.string();
          else if (nf === 5) n.attrs.push(parseAttr(nr.bytes()));
          else return false;
          return true;
        });
        g.nodes.push(n);
      } else if (gf === 5) {
        let name = '';
        let type = 0;
        each(gr.bytes(), (tf, tw, tr) => (tf === 8 && tw === 2 ? ((name = tr.string()), true) : tf === 2 && tw === 0 ? ((type = tr.int32()), true) : false));
        g.inits.set(name, type);
      } else if (gf === 11 || gf === 12) {
        const [name, elem] = parseValueInfo(gr.bytes());
        (gf === 11 ? g.inputs : g.outputs).set(name, elem ?? 0);
      } else return false;
      return true;
    });
    return true;
  });
  return g;
}

const SAME_TYPE_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'MatMul']);

/** Why the graph is not integer-only (empty when it is): walks nodes in order, typing every tensor. */
export function integerOnlyViolations(model: Uint8Array): string[] {
  const g = parseOnnxGraph(model);
  const types = new Map<string, number>([...g.inputs, ...g.inits]);
  const bad: string[] = [];
  for (const [name, t] of g.inputs) if (!INTEGER_TYPES.has(t)) bad.push(`graph input '${name}' is ${typeName(t)}`);
  for (const [name, t] of g.inits) if (!INTEGER_TYPES.has(t)) bad.push(`initializer '${name}' is ${typeName(t)}`);
  for (const n of g.nodes) {
    const ins = n.inputs.filter((x) => x !== '').map((x) => types.get(x));
    const where = `${n.opType} → ${n.outputs.join(', ')}`;
    if (n.attrs.some((a) => a.type === 1 || a.type === 6 || a.type === 4)) bad.push(`${where} has a float or tensor attribute`);
    let out: number | undefined;
    if (n.domain !== '' && n.domain !== 'ai.onnx') bad.push(`${where}: op domain '${n.domain}' is not integer arithmetic`);
    else if (n.opType === 'MatMulInteger') out = ins.slice(0, 2).every((t) => t !== undefined && INT8_TYPES.has(t)) ? 6 : undefined;
    else if (SAME_TYPE_OPS.has(n.opType)) out = ins.every((t) => t === ins[0]) ? ins[0] : undefined;
    else if (n.opType === 'Cast') out = Number(n.attrs.find((a) => a.name === 'to')?.i ?? -1);
    else if (n.opType === 'Reshape') out = ins[1] === 7 ? ins[0] : undefined;
    else bad.push(`${where}: op '${n.opType}' is not on the integer-only list`);
    if (out === undefined || !INTEGER_TYPES.has(out)) bad.push(`${where} yields ${typeName(out)} from ${ins.map(typeName).join(', ')}`);
    for (const o of n.outputs) types.set(o, out ?? FLOAT);
  }
  for (const [name, t] of g.outputs) if (!INTEGER_TYPES.has(t) || !INTEGER_TYPES.has(types.get(name) ?? FLOAT)) bad.push(`graph output '${name}' is not integer`);
  return bad;
}

/** Why a tree-ensemble graph's sums may not be exact (empty when they are). */
export function exactTreeViolations(model: Uint8Array): string[] {
  const g = parseOnnxGraph(model);
  if (g.nodes.length !== 1 || !/^TreeEnsemble(Regressor|Classifier)$/.test(g.nodes[0]!.opType)) return ['not a single ONNX-ML TreeEnsembleRegressor/Classifier'];
  const n = g.nodes[0]!;
  const attr = (name: string) => n.attrs.find((a) => a.name === name);
  const bad: string[] = [];
  const post = attr('post_transform')?.s ?? 'NONE';
  if (post !== 'NONE') bad.push(`post_transform ${post} is a float function`);
  const weights = attr('target_weights') ?? attr('class_weights');
  const trees = attr('target_treeids') ?? attr('class_treeids');
  const classes = attr('target_ids') ?? attr('class_ids');
  if (!weights || !trees || weights.floats.length !== trees.ints.length) return [...bad, 'leaf weights or their tree ids are missing'];
  const values = [...weights.floats, ...(attr('base_values')?.floats ?? [])];
  // Smallest power of two making every weight an integer (dyadic), at most 2^30.
  let bits = 0;
  while (bits <= 30 && !values.every((v) => Number.isInteger(v * 2 ** bits))) bits++;
  if (bits > 30) return [...bad, 'leaf weights are not dyadic (multiples of a power of two)'];
  // Worst-case partial sum per output: Σ over trees of its largest |leaf|, plus |base|; exact while < 2^24 units.
  const perTree = new Map<string, number>();
  weights.floats.forEach((w, i) => {
    const key = `${trees.ints[i]}:${classes?.ints[i] ?? 0}`;
    perTree.set(key, Math.max(perTree.get(key) ?? 0, Math.abs(w)));
  });
  const byOutput = new Map<string, number>();
  for (const [key, w] of perTree) byOutput.set(key.split(':')[1]!, (byOutput.get(key.split(':')[1]!) ?? 0) + w);
  const base = Math.max(0, ...(attr('base_values')?.floats ?? []).map(Math.abs));
  const worst = Math.max(...byOutput.values()) + base;
  if (worst * 2 ** bits >= 2 ** 24) bad.push(`partial sums reach ${worst} in units of 2^-${bits}: beyond float32's exact 2^24`);
  return bad;
}

/** Why `exactness: "any-hardware"` does not hold for this graph (empty when it does). */
export function anyHardwareViolations(model: Uint8Array): string[] {
  const integer = integerOnlyViolations(model);
  if (integer.length === 0) return [];
  const trees = exactTreeViolations(model);
  if (trees.length === 0) return [];
  return parseOnnxGraph(model).nodes.some((n) => n.opType.startsWith('TreeEnsemble')) ? trees : integer;
}
