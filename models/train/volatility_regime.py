"""volatility-regime: a 1.07M-parameter 1-D CNN over 128-step (return, volume) windows that classifies the next
16 steps' realised volatility as low / normal / high; trained here in numpy (hand-written forward/backward,
Adam, float32, one thread: reproducible), exported as a float ONNX graph and as its integer-only int8 sibling.

Generator (real structure): a 3-state Markov volatility regime (low/normal/high, persistent), log-volatility
wobbling around the regime level (AR(1)), Student-t(5) returns; log-volume tracks log-volatility, and informed
trading lifts volume a few steps before a switch into the high regime (the lead the CNN can learn that trailing
realised volatility alone cannot see). Train and held-out windows come from different assets.

Network (patch convolutions: a kernel equal to its stride is a reshape then a matmul, so the int8 graph is
MatMulInteger only):
    [N, 256] = 128 steps x (return, log-volume) interleaved, oldest first
    -> [N, 32, 8]    conv k=4 s=4, 2 -> 128 channels, ReLU
    -> [N, 16, 64]   conv k=2 s=2, 128 -> 64 channels, ReLU
    -> [N, 1024]     dense 1024 -> 1024, ReLU
    -> [N, 3]        class logits (float model: softmax probabilities)
1,070,275 weights; 1.35M multiply-adds per window.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.metrics import accuracy_score, f1_score

from common import OPSET, Feature, OutputSpec, run_onnx, strip_doc, write_model
from int8 import Dense
from int8_variants import write_int8_variant

WINDOW = 128
HORIZON = 16
SCALE = 10  # canonical integer = value * 10: returns in 0.1 % steps, log-volume in 0.1 steps: int8 codes
CLASSES = ["low", "normal", "high"]
FEATURES = [f for t in range(WINDOW) for f in (Feature(f"return_pct_t{t - WINDOW + 1}", -12.8, 12.7), Feature(f"log_volume_t{t - WINDOW + 1}", -12.8, 12.7))]
RESHAPES = [(-1, 32, 8), (-1, 16, 256), (-1, 1024), None]
SIZES = [(8, 128), (256, 64), (1024, 1024), (1024, 3)]
PROB_SCALE = 10_000


def regime_series(rng: np.random.Generator, steps: int) -> tuple[np.ndarray, np.ndarray]:
    trans = np.array([[0.985, 0.015, 0.0], [0.012, 0.976, 0.012], [0.0, 0.035, 0.965]])
    level = np.array([0.45, 1.0, 2.3])  # % per step
    state = np.zeros(steps, np.int64)
    state[0] = rng.choice(3, p=[0.3, 0.5, 0.2])
    u = rng.random(steps)
    for t in range(1, steps):
        state[t] = int(np.searchsorted(np.cumsum(trans[state[t - 1]]), u[t]))
    wobble = np.zeros(steps)
    e = rng.normal(0, 0.12, steps)
    for t in range(1, steps):
        wobble[t] = 0.95 * wobble[t - 1] + e[t]
    sigma = level[state] * np.exp(wobble)
    r = sigma * rng.standard_t(5, steps) / np.sqrt(5 / 3)
    into_high = np.zeros(steps)
    for t in np.nonzero((state[1:] == 2) & (state[:-1] != 2))[0] + 1:
        into_high[max(0, t - 6):t] = np.linspace(0.3, 0.9, t - max(0, t - 6))
    noise = np.zeros(steps)
    f = rng.normal(0, 0.35, steps)
    for t in range(1, steps):
        noise[t] = 0.6 * noise[t - 1] + f[t]
    lv = 0.8 * np.log(sigma) + into_high + noise + 0.25 * np.abs(r) / level[1]
    return r, lv


def windows(rng: np.random.Generator, assets: int, steps: int = 1400, stride: int = 4) -> tuple[np.ndarray, np.ndarray]:
    xs, fut, trail = [], [], []
    for _ in range(assets):
        r, lv = regime_series(rng, steps)
        codes = np.stack([np.clip(np.round(r * SCALE), -128, 127), np.clip(np.round(lv * SCALE), -128, 127)], axis=1)
        for t in range(WINDOW, steps - HORIZON, stride):
            xs.append(codes[t - WINDOW:t].reshape(-1))
            fut.append(np.sqrt(np.mean(r[t:t + HORIZON] ** 2)))
            trail.append(np.sqrt(np.mean(r[t - HORIZON:t] ** 2)))
    return (np.array(xs, np.float32) / SCALE), np.array(fut), np.array(trail)


def forward(params: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray, keep: bool = False):
    h = x
    cache = []
    for i, ((w, b), shape) in enumerate(zip(params, RESHAPES)):
        a = h.reshape(shape) if shape else h
        z = a @ w + b
        h = np.maximum(z, 0) if i < len(params) - 1 else z
        if keep:
            cache.append((a, z))
    return h, cache


def train(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, epochs: int = 4, batch: int = 256, lr: float = 1e-3, decay: float = 1e-4):
    params = [((rng.standard_normal((i, o)) * np.sqrt(2.0 / i)).astype(np.float32), np.zeros(o, np.float32)) for i, o in SIZES]
    m = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
    v = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
    b1, b2, eps, step = 0.9, 0.999, 1e-8, 0
    onehot = np.eye(3, dtype=np.float32)[y]
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        rate = lr * (0.5 ** max(0, epoch - 2))
        for s in range(0, len(x) - batch + 1, batch):
            idx = order[s:s + batch]
            logits, cache = forward(params, x[idx], keep=True)
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            dz = (p - onehot[idx]) / batch
            grads = []
            for i in range(len(params) - 1, -1, -1):
                a, z = cache[i]
                if i < len(params) - 1:
                    dz = dz * (z > 0)
                w = params[i][0]
                grads.append((a.reshape(-1, w.shape[0]).T @ dz.reshape(-1, w.shape[1]) + decay * w, dz.reshape(-1, w.shape[1]).sum(axis=0)))
                if i > 0:
                    dz = (dz @ w.T).reshape(cache[i - 1][1].shape)
            grads.reverse()
            step += 1
            for i, ((w, b), (gw, gb)) in enumerate(zip(params, grads)):
                (mw, mb), (vw, vb) = m[i], v[i]
                for prm, g, mm, vv in ((w, gw, mw, vw), (b, gb, mb, vb)):
                    mm *= b1
                    mm += (1 - b1) * g
                    vv *= b2
                    vv += (1 - b2) * g * g
                    prm -= (rate * (mm / (1 - b1**step)) / (np.sqrt(vv / (1 - b2**step)) + eps)).astype(np.float32)
    return params


def float_graph(params, name: str) -> onnx.ModelProto:
    """Every layer is a 2-D Gemm (patches become rows: [N,256] -> [32N,8] -> [16N,256] -> [N,1024]), so there is
    no MatMul + Add pair for onnxruntime's optimiser to fuse: the float graph computes the same bits with graph
    optimisation on or off (a fused bias is added before the products, an unfused one after)."""
    nodes, inits, h = [], [], "features"
    for i, ((w, b), shape) in enumerate(zip(params, RESHAPES)):
        if shape:
            inits.append(numpy_helper.from_array(np.array([-1, shape[-1]], np.int64), f"l{i}_shape"))
            nodes.append(helper.make_node("Reshape", [h, f"l{i}_shape"], [f"l{i}_in"]))
            h = f"l{i}_in"
        inits += [numpy_helper.from_array(w, f"l{i}_w"), numpy_helper.from_array(b, f"l{i}_b")]
        nodes.append(helper.make_node("Gemm", [h, f"l{i}_w", f"l{i}_b"], [f"l{i}_z"]))
        h = f"l{i}_z"
        if i < len(params) - 1:
            nodes.append(helper.make_node("Relu", [h], [f"l{i}_h"]))
            h = f"l{i}_h"
    nodes.append(helper.make_node("Softmax", [h], ["probabilities"], axis=-1))
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, len(FEATURES)])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return strip_doc(model, name, "1-D CNN: next-16-step volatility regime from 128 steps of returns and volume")


def train_volatility_regime(rng: np.random.Generator, params=None) -> None:
    """`params`: already-trained weights (export only; the data are regenerated from `rng` all the same)."""
    xtr, ftr, _ = windows(rng, 100)
    xte, fte, trail_te = windows(rng, 30)
    cuts = np.quantile(ftr, [1 / 3, 2 / 3])  # class boundaries from the training windows only
    ytr, yte = np.digitize(ftr, cuts), np.digitize(fte, cuts)
    if params is None:
        params = train(rng, xtr, ytr)
    name = "volatility-regime"
    m = float_graph(params, name)
    prob = run_onnx(m.SerializeToString(), {"features": xte})[0]
    label = prob.argmax(axis=1)
    baseline = np.digitize(trail_te, cuts)  # "the next 16 steps look like the last 16"
    training = {"script": "models/train/volatility_regime.py", "generator": "3-state Markov volatility regime, AR(1) log-vol, Student-t(5) returns, volume leading switches into the high regime",
                "rows": int(len(xtr)), "heldOutAssets": 30, "seed": 20260107, "epochs": 4, "optimizer": "Adam, batch 256, float32 numpy"}
    write_model(name, exactness="same-family", version="1.0.0", task="multiclass-classification", domain="trading",
                description="1-D CNN (1.07M parameters: two patch convolutions, a 1024x1024 dense layer) classifying the next 16 steps' realised volatility as low/normal/high from 128 steps of returns (%) and log-volume.",
                model=m, input_name="features", input_dtype="float32", input_scale=SCALE, features=FEATURES,
                outputs=[OutputSpec("probabilities", "float32", [0, 1, 2], PROB_SCALE, [f"p_{c}" for c in CLASSES])],
                metrics={"accuracy": round(float(accuracy_score(yte, label)), 5), "macroF1": round(float(f1_score(yte, label, average="macro")), 5),
                         "baselineTrailingVolAccuracy": round(float(accuracy_score(yte, baseline)), 5), "classes": CLASSES, "heldOutRows": int(len(yte))},
                training=training, reference=xte)
    layers = [Dense(w.astype(np.float64), b.astype(np.float64), i < len(params) - 1, shape) for i, ((w, b), shape) in enumerate(zip(params, RESHAPES))]
    write_int8_variant(name, kind="multiclass", layers=layers, xtr=xtr, xte=xte, yte=yte, float_out=prob, features=FEATURES, input_scale=SCALE,
                       output_scale=PROB_SCALE, output_name="logits", labels=[f"logit_{c}" for c in CLASSES], task="multiclass-classification", domain="trading",
                       training=training, input_dtype="int8", calibration_rows=4000,
                       description="Integer-only int8 quantisation of volatility-regime (1-D CNN, 1.07M parameters): int8 codes in, the three class logits at scale 10^4 out (the regime is the largest); MatMulInteger with integer requantisation; bit-exact on every backend.")


if __name__ == "__main__":
    train_volatility_regime(np.random.default_rng(20260107))
