"""The `<name>-int8` sibling of a float model: quantise its layers (int8.py), evaluate the integer graph through
onnxruntime on the same held-out rows, report its metrics beside the float model's, write it to the zoo."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score, roc_auc_score

from common import Feature, OutputSpec, canonical_inputs, run_onnx, write_model
from int8 import Dense, quantize_stack

CALIBRATION_ROWS = 20000


def write_int8_variant(
    base: str,
    *,
    kind: str,  # "regression" | "binary" | "multiclass"
    layers: list[Dense],
    xtr: np.ndarray,
    xte: np.ndarray,
    yte: np.ndarray,
    float_out: np.ndarray,  # float model on xte: regression predictions, P(class 1), or class probabilities
    features: list[Feature],
    input_scale: int,
    output_scale: int,
    output_name: str,
    labels: list[str],
    task: str,
    domain: str,
    description: str,
    training: dict,
    input_dtype: str = "int64",
    calibration_rows: int = CALIBRATION_ROWS,
) -> dict:
    name = f"{base}-int8"
    q = quantize_stack(layers, xtr[:calibration_rows], name=name, doc=f"integer-only int8 quantisation of {base}", input_name="features",
                       input_dtype=input_dtype, input_scale=input_scale, output_name=output_name, output_scale=output_scale)
    ints = canonical_inputs(xte, input_scale, features)
    out = run_onnx(q.SerializeToString(), {"features": ints.astype(input_dtype)})[0].astype(np.float64) / output_scale
    n = int(len(yte))
    if kind == "regression":
        pred = out[:, 0]
        metrics = {"mae": round(float(mean_absolute_error(yte, pred)), 5), "r2": round(float(r2_score(yte, pred)), 5),
                   "floatModelMae": round(float(mean_absolute_error(yte, float_out)), 5),
                   "meanAbsDiffFromFloat": round(float(np.abs(pred - float_out).mean()), 5)}
    elif kind == "binary":
        logit = out[:, 0]
        label = (logit > 0).astype(int)
        flabel = (float_out > 0.5).astype(int)
        metrics = {"accuracy": round(float(accuracy_score(yte, label)), 5), "auc": round(float(roc_auc_score(yte, logit)), 5),
                   "floatModelAccuracy": round(float(accuracy_score(yte, flabel)), 5), "floatModelAuc": round(float(roc_auc_score(yte, float_out)), 5),
                   "labelAgreementWithFloat": round(float((label == flabel).mean()), 5)}
    else:
        label = out.argmax(axis=1)
        flabel = float_out.argmax(axis=1)
        metrics = {"accuracy": round(float(accuracy_score(yte, label)), 5), "macroF1": round(float(f1_score(yte, label, average="macro")), 5),
                   "floatModelAccuracy": round(float(accuracy_score(yte, flabel)), 5), "floatModelMacroF1": round(float(f1_score(yte, flabel, average="macro")), 5),
                   "labelAgreementWithFloat": round(float((label == flabel).mean()), 5)}
    metrics["heldOutRows"] = n
    how = "int8 codes" if input_dtype == "int8" else f"canonical int64 inputs (scale {input_scale}, the float model's), mapped in-graph to int8 codes per feature"
    write_model(name, exactness="any-hardware", version="1.0.0", task=task, domain=domain, description=description, model=q,
                input_name="features", input_dtype=input_dtype, input_scale=input_scale, features=features,
                outputs=[OutputSpec(output_name, "int64", list(range(out.shape[1])), output_scale, labels)],
                metrics=metrics, reference=xte,
                training={**training, "quantization": f"static int8: {how}; per-output-channel symmetric int8 weights, int32 accumulation, "
                          f"activations calibrated on {min(len(xtr), calibration_rows)} training rows (99.99th percentile), requantised by integer multiply and "
                          "power-of-two division with round-half-up (models/train/int8.py)"})
    return metrics
