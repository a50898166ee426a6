"""Shared helpers for the model zoo: ONNX export, held-out evaluation through onnxruntime, manifest writing.

Every model directory gets model.onnx, manifest.json and metrics.json. Metrics are computed by running the
exported ONNX file (not the scikit-learn object) on a held-out split, so they describe what nodes execute.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime as ort

# DESTRA_MODELS_OUT redirects every output (check_reproducible.sh trains into a scratch directory and
# compares hashes with the committed files).
MODELS_DIR = os.path.abspath(os.environ.get("DESTRA_MODELS_OUT") or os.path.join(os.path.dirname(__file__), ".."))
OPSET = 17
ML_OPSET = 3
REFERENCE_ROWS = 4096  # reference vectors per model (manifest.reference; docs/models.md)
REFERENCE_FILE = "reference.bin.gz"
TREE_OPS = ("TreeEnsembleRegressor", "TreeEnsembleClassifier")


@dataclass
class Feature:
    name: str
    lo: float
    hi: float


@dataclass
class OutputSpec:
    name: str  # ONNX output tensor name
    dtype: str
    columns: list[int]  # which columns of the [N, C] tensor are signed, in order
    scale: float  # canonical value = round(value * scale) (float) or the raw integer (integer outputs)
    labels: list[str] = field(default_factory=list)  # meaning of each signed column


def clip_to(features: list[Feature], x: np.ndarray) -> np.ndarray:
    lo = np.array([f.lo for f in features])
    hi = np.array([f.hi for f in features])
    return np.clip(x, lo, hi)


def quantize_like_canonical(x: np.ndarray, scale: int) -> np.ndarray:
    """What a node actually sees: value -> round(value*scale) int64 -> /scale as float32."""
    return (np.round(x * scale) / scale).astype(np.float32)


def run_onnx(model_bytes: bytes, feeds: dict) -> list[np.ndarray]:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def strip_doc(model: onnx.ModelProto, name: str, doc: str) -> onnx.ModelProto:
    # Keep the file byte-stable across reruns: no producer timestamps, fixed graph name.
    model.graph.name = name
    model.doc_string = doc
    model.producer_name = "destra-models"
    model.producer_version = "1"
    onnx.checker.check_model(model)
    return model


def write_model(
    name: str,
    *,
    version: str,
    task: str,
    domain: str,
    description: str,
    model: onnx.ModelProto,
    input_name: str,
    input_dtype: str,
    input_scale: int,
    features: list[Feature],
    outputs: list[OutputSpec],
    metrics: dict,
    training: dict,
    exactness: str,
    reference: np.ndarray,
) -> None:
    """Writes model.onnx, manifest.json, metrics.json and the reference vectors.

    `exactness`: "any-hardware" (checked: integer-only graph or a tree ensemble) or "same-family" (float graph).
    `reference`: at least REFERENCE_ROWS rows of feature values (held-out data); the first REFERENCE_ROWS are
    canonicalised, run through onnxruntime and stored with their canonical outputs.
    """
    assert exactness in ("any-hardware", "same-family"), exactness
    if exactness == "any-hardware":
        assert is_integer_only(model) or any(n.op_type in TREE_OPS for n in model.graph.node), f"{name}: any-hardware needs an integer-only graph or a tree ensemble"
    out_dir = os.path.join(MODELS_DIR, name)
    os.makedirs(out_dir, exist_ok=True)
    data = model.SerializeToString()
    with open(os.path.join(out_dir, "model.onnx"), "wb") as fh:
        fh.write(data)
    sha = hashlib.sha256(data).hexdigest()
    ref = write_reference(out_dir, input_name, input_dtype, input_scale, features, outputs, data, reference)
    stale = os.path.join(out_dir, "vectors.json")  # the 16-row JSON vectors this file format replaced
    if os.path.exists(stale):
        os.remove(stale)
    manifest = {
        "name": name,
        "version": version,
        "task": task,
        "domain": domain,
        "description": description,
        "file": "model.onnx",
        "sha256": sha,
        "inputs": [
            {
                "name": input_name,
                "dtype": input_dtype,
                "shape": [-1, len(features)],
                "scale": input_scale,
                "features": [{"name": f.name, "min": f.lo, "max": f.hi} for f in features],
            }
        ],
        "outputs": [
            {
                "name": o.name,
                "dtype": o.dtype,
                "columns": o.columns,
                "scale": o.scale,
                **({"labels": o.labels} if o.labels else {}),
            }
            for o in outputs
        ],
        "exactness": exactness,
        "parameters": count_parameters(model),
        "reference": ref,
        "metrics": metrics,
        "training": training,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(out_dir, "metrics.json"), "w") as fh:
        json.dump({"name": name, "heldOut": metrics}, fh, indent=2)
        fh.write("\n")
    print(f"{name:24s} {len(data):8d} B  {manifest['parameters']:8d} params  {exactness:12s} sha256={sha[:16]}…  {json.dumps(metrics)}")


def canonical_inputs(rows: np.ndarray, input_scale: int, features: list[Feature]) -> np.ndarray:
    """Feature values -> the canonical int64 a request carries, kept inside each feature's [min, max]."""
    ints = np.round(rows.astype(np.float64) * input_scale).astype(np.int64)
    lo = np.array([int(np.ceil(f.lo * input_scale - 1e-9)) for f in features], np.int64)
    hi = np.array([int(np.floor(f.hi * input_scale + 1e-9)) for f in features], np.int64)
    return np.clip(ints, lo, hi)


def write_reference(out_dir: str, input_name: str, input_dtype: str, input_scale: int, features: list[Feature], outputs: list[OutputSpec], data: bytes, rows: np.ndarray) -> dict:
    """Reference vectors from Python onnxruntime (CPU, 1 thread, one run over all rows): canonical input
    integers and canonical outputs, as the gzip'd DRV1 file of docs/models.md. Returns manifest.reference.

    Integer ("any-hardware") models must reproduce them exactly anywhere; float models on the same CPU family.
    """
    assert len(rows) >= REFERENCE_ROWS, f"{out_dir}: {len(rows)} reference rows, need {REFERENCE_ROWS}"
    ints = canonical_inputs(rows[:REFERENCE_ROWS], input_scale, features)
    n = len(ints)
    feed = (ints / input_scale).astype(np.float32) if input_dtype == "float32" else ints.astype(input_dtype)
    res = dict(zip([o.name for o in ort.InferenceSession(data, providers=["CPUExecutionProvider"]).get_outputs()], run_onnx(data, {input_name: feed})))
    cols = []
    for o in outputs:
        t = res[o.name].reshape(n, -1)
        for c in o.columns:
            v = t[:, c]
            cols.append(v.astype(np.int64) if o.dtype.startswith("int") else np.round(v.astype(np.float64) * o.scale).astype(np.int64))
    out = np.stack(cols, axis=1)
    raw = b"DRV1" + struct.pack(">III", n, ints.shape[1], out.shape[1]) + ints.astype(">i8").tobytes() + out.astype(">i8").tobytes()
    with open(os.path.join(out_dir, REFERENCE_FILE), "wb") as fh:
        fh.write(gzip.compress(raw, compresslevel=9, mtime=0))
    return {"file": REFERENCE_FILE, "rows": n, "sha256": hashlib.sha256(raw).hexdigest()}


INTEGER_TYPES = {onnx.TensorProto.INT8, onnx.TensorProto.UINT8, onnx.TensorProto.INT16, onnx.TensorProto.UINT16, onnx.TensorProto.INT32, onnx.TensorProto.UINT32, onnx.TensorProto.INT64, onnx.TensorProto.UINT64, onnx.TensorProto.BOOL}


def is_integer_only(model: onnx.ModelProto) -> bool:
    """Every graph input, initializer, intermediate value and output has an integer element type, and no
    node has a float attribute (e.g. a Cast to float). Shape inference types the intermediate values."""
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    g = inferred.graph
    values = list(g.input) + list(g.value_info) + list(g.output)
    typed = {v.name: v.type.tensor_type.elem_type for v in values}
    typed.update({t.name: t.data_type for t in g.initializer})
    for node in g.node:
        for t in list(node.input) + list(node.output):
            if t and typed.get(t) not in INTEGER_TYPES:
                return False
        for a in node.attribute:
            if a.type in (onnx.AttributeProto.FLOAT, onnx.AttributeProto.FLOATS, onnx.AttributeProto.TENSOR) or (node.op_type == "Cast" and a.name == "to" and a.i not in INTEGER_TYPES):
                return False
    return True


def count_parameters(model: onnx.ModelProto) -> int:
    """Learned weights: initializer and Constant elements, a tree ensemble's split thresholds and leaf weights,
    and the coefficient/intercept/scaler lists of the other ONNX-ML ops (LinearRegressor, LinearClassifier, Scaler)."""
    n = sum(int(np.prod(t.dims)) if len(t.dims) else 1 for t in model.graph.initializer)
    for node in model.graph.node:
        for a in node.attribute:
            if node.op_type in TREE_OPS:
                if a.name in ("nodes_values", "target_weights", "class_weights", "base_values"):
                    n += len(a.floats)
            elif node.op_type == "Constant" and a.type == onnx.AttributeProto.TENSOR:
                n += int(np.prod(a.t.dims)) if len(a.t.dims) else 1
            elif node.domain == "ai.onnx.ml" and a.type == onnx.AttributeProto.FLOATS:
                n += len(a.floats)
    return n
