"""Shared helpers for the model zoo: ONNX export, held-out evaluation through onnxruntime, manifest writing.

Every model directory gets model.onnx, manifest.json and metrics.json. Metrics are computed by running the
exported ONNX file (not the scikit-learn object) on a held-out split, so they describe what nodes execute.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime as ort

# DESTRA_MODELS_OUT redirects every output (check_reproducible.sh trains into a scratch directory and
# compares hashes with the committed files).
MODELS_DIR = os.path.abspath(os.environ.get("DESTRA_MODELS_OUT") or os.path.join(os.path.dirname(__file__), ".."))
OPSET = 17
ML_OPSET = 3


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
    vectors: np.ndarray | None = None,
) -> None:
    out_dir = os.path.join(MODELS_DIR, name)
    os.makedirs(out_dir, exist_ok=True)
    data = model.SerializeToString()
    with open(os.path.join(out_dir, "model.onnx"), "wb") as fh:
        fh.write(data)
    sha = hashlib.sha256(data).hexdigest()
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
        "metrics": metrics,
        "training": training,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(out_dir, "metrics.json"), "w") as fh:
        json.dump({"name": name, "heldOut": metrics}, fh, indent=2)
        fh.write("\n")
    if vectors is not None:
        write_vectors(out_dir, input_name, input_dtype, input_scale, outputs, data, vectors)
    print(f"{name:24s} {len(data):7d} B  sha256={sha[:16]}…  {json.dumps(metrics)}")


def write_vectors(out_dir: str, input_name: str, input_dtype: str, input_scale: int, outputs: list[OutputSpec], data: bytes, rows: np.ndarray) -> None:
    """Golden vectors from Python onnxruntime: canonical input integers and canonical outputs.

    The TypeScript tests replay them through onnxruntime-node: integer models must match exactly; float
    models within one output unit (a different onnxruntime build may round a float differently).
    """
    ints = np.round(rows.astype(np.float64) * input_scale).astype(np.int64)
    feed = (ints / input_scale).astype(np.float32) if input_dtype == "float32" else ints.astype(input_dtype)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    res = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {input_name: feed})))
    expected = []
    for r in range(len(rows)):
        vals = []
        for o in outputs:
            t = res[o.name]
            t = t.reshape(len(rows), -1)
            for c in o.columns:
                v = t[r, c]
                vals.append(str(int(v)) if o.dtype.startswith("int") else str(int(np.round(np.float64(v) * o.scale))))
        expected.append(vals)
    with open(os.path.join(out_dir, "vectors.json"), "w") as fh:
        json.dump({"input": [[str(int(v)) for v in row] for row in ints], "output": expected}, fh)
        fh.write("\n")
