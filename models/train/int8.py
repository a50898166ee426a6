"""Static int8 quantisation of a stack of dense (or patch-convolution) layers into an integer-only ONNX graph.

No float op sits between the input and the signed output, so every CPU vendor, GPU, thread count and batch
size computes the same bits (docs/models.md "exactness"). The graph, per layer:

    int8 codes -> MatMulInteger (int8 x int8 -> int32) -> Add int32 bias
      hidden: Max(., 0) -> Cast int64 -> Mul M[o] -> Add 2^(s-1) -> Div 2^s -> Min 127 -> Cast int8
      output: Cast int64 -> Mul M[o] -> Add 2^(s-1) + 2^61 -> Div 2^s -> Sub 2^(61-s)       (int64 output)

Requantisation is an integer multiply by M[o] = round(ratio[o] * 2^s) and a division by 2^s. ONNX integer Div
truncates toward zero, so the dividend is made non-negative first: after ReLU it already is; for the signed
output layer 2^61 (a multiple of 2^s) is added before and 2^(61-s) subtracted after, which turns truncation
into floor. With the + 2^(s-1) this is round-half-up: y = floor(acc * M / 2^s + 1/2), exactly, everywhere.
Bounds: |acc| < 2^31 (int32) and M < 2^30 keep every int64 intermediate below 2^62.

Inputs are either int8 codes already (the model's canonical inputs are int8) or canonical int64 integers at
the float model's scale, which the graph maps per feature to an int8 code the same way:
    code = clamp(floor(((x - c) * M_f + 2^(s_f-1) + 2^61) / 2^s_f) - 2^(61-s_f), -127, 127)
so the int8 model takes exactly the requests its float sibling takes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from common import OPSET, strip_doc

BIG = 61  # 2^61: the offset that makes signed dividends non-negative (a multiple of every 2^s used)


@dataclass
class Dense:
    """y = act(x @ w + b) on the last axis; `reshape` reshapes the layer's input first (patch convolutions)."""
    w: np.ndarray  # [in, out]
    b: np.ndarray  # [out]
    relu: bool
    reshape: tuple[int, ...] | None = None


def float_forward(layers: list[Dense], x: np.ndarray) -> list[np.ndarray]:
    """Every layer's output (after its activation), float64."""
    outs = []
    h = x.astype(np.float64)
    for layer in layers:
        if layer.reshape is not None:
            h = h.reshape(layer.reshape)
        h = h @ layer.w + layer.b
        if layer.relu:
            h = np.maximum(h, 0.0)
        outs.append(h)
    return outs


def fold_standardiser(layers: list[Dense], mean: np.ndarray, std: np.ndarray) -> list[Dense]:
    """Folds z = (x - mean) / std into the first layer, so the stack takes raw feature values."""
    first = layers[0]
    w = first.w / std[:, None]
    b = first.b - (mean / std) @ first.w
    return [Dense(w, b, first.relu, first.reshape)] + layers[1:]


def _shift_for(max_ratio: float, bits: int) -> int:
    """The s for which round(max_ratio * 2^s) stays below 2^bits."""
    s = bits - 1 - int(np.ceil(np.log2(max_ratio)))
    assert 1 <= s <= BIG, f"requantisation ratio {max_ratio} needs shift {s}"
    return s


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        self.n += 1
        out = f"t{self.n}_{op_type.lower()}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out


def quantize_stack(
    layers: list[Dense],
    calib: np.ndarray,
    *,
    name: str,
    doc: str,
    input_name: str,
    input_dtype: str,
    input_scale: int,
    output_name: str,
    output_scale: int,
    percentile: float = 99.99,
) -> onnx.ModelProto:
    """Integer-only graph for `layers` (float, taking feature values) calibrated on `calib` feature rows.

    input_dtype "int8": the canonical input integers are the int8 codes (value = code / input_scale).
    input_dtype "int64": canonical integers at input_scale, mapped in-graph to per-feature int8 codes.
    The output is int64: round(float output * output_scale), column by column.
    """
    g = _Graph()
    layers = list(layers)
    if input_dtype == "int8":
        # Codes are integers n with value n / input_scale: the first layer sees n, so scale its weights.
        first = layers[0]
        layers[0] = Dense(first.w / input_scale, first.b, first.relu, first.reshape)
        x_codes = input_name
        calib_codes = np.round(calib * input_scale)
    else:
        assert input_dtype == "int64"
        lo = np.percentile(calib, 100 - percentile, axis=0)
        hi = np.percentile(calib, percentile, axis=0)
        center = (lo + hi) / 2
        c = np.round(center * input_scale).astype(np.int64)
        half = np.maximum((hi - lo) / 2, 1.0 / input_scale)
        step = half / 127  # feature value per code unit (before rounding M)
        s = np.array([_shift_for(1.0 / (st * input_scale), 21) for st in step], np.int64)
        m = np.array([int(round(2.0 ** int(sf) / (st * input_scale))) for sf, st in zip(s, step)], np.int64)
        eff_step = (2.0 ** s) / (m * input_scale)  # what one code is worth, exactly as the graph computes it
        a = (2 ** (s - 1)) + (1 << BIG) - c * m
        t = g.op("Mul", [input_name, g.const("in_mul", m)])
        t = g.op("Add", [t, g.const("in_add", a.astype(np.int64))])
        t = g.op("Div", [t, g.const("in_div", (2 ** s).astype(np.int64))])
        t = g.op("Sub", [t, g.const("in_sub", (2 ** (BIG - s)).astype(np.int64))])
        t = g.op("Max", [t, g.const("in_lo", np.array([-127], np.int64))])
        t = g.op("Min", [t, g.const("in_hi", np.array([127], np.int64))])
        x_codes = g.op("Cast", [t], to=TensorProto.INT8)
        # value = c/input_scale + code * eff_step: fold into the first layer.
        first = layers[0]
        w_full = first.w
        if first.reshape is not None:
            raise ValueError("int64 inputs feed a dense first layer only")
        layers[0] = Dense(w_full * eff_step[:, None], first.b + (c / input_scale) @ w_full, first.relu, None)
        codes = np.floor((np.round(calib * input_scale).astype(np.int64) - c) * m / 2.0 ** s + 0.5)
        calib_codes = np.clip(codes, -127, 127)
    acts = float_forward(layers, calib_codes)
    h = x_codes
    s_a = 1.0  # real value per activation code (the first layer's inputs are the codes themselves)
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        if layer.reshape is not None:
            h = g.op("Reshape", [h, g.const(f"l{i}_shape", np.array(layer.reshape, np.int64))])
        s_w = np.maximum(np.abs(layer.w).max(axis=0), 1e-12) / 127  # per output channel
        wq = np.clip(np.round(layer.w / s_w), -127, 127).astype(np.int8)
        acc_scale = s_a * s_w  # real value of one accumulator unit, per output channel
        bq = np.round(layer.b / acc_scale)
        assert np.abs(bq).max() < 2**30, f"{name} layer {i}: bias does not fit int32"
        acc = g.op("MatMulInteger", [h, g.const(f"l{i}_w", wq)])
        acc = g.op("Add", [acc, g.const(f"l{i}_b", bq.astype(np.int32))])
        if not last:
            assert layer.relu
            top = max(float(np.percentile(acts[i][acts[i] > 0], percentile)) if (acts[i] > 0).any() else 1.0, 1e-6)
            s_next = top / 127
            ratio = acc_scale / s_next
            s = _shift_for(float(ratio.max()), 31)
            mq = np.round(ratio * 2.0**s).astype(np.int64)
            t = g.op("Max", [acc, g.const(f"l{i}_zero", np.array([0], np.int32))])
            t = g.op("Cast", [t], to=TensorProto.INT64)
            t = g.op("Mul", [t, g.const(f"l{i}_mul", mq)])
            t = g.op("Add", [t, g.const(f"l{i}_round", np.array([1 << (s - 1)], np.int64))])
            t = g.op("Div", [t, g.const(f"l{i}_div", np.array([1 << s], np.int64))])
            t = g.op("Min", [t, g.const(f"l{i}_sat", np.array([127], np.int64))])
            h = g.op("Cast", [t], to=TensorProto.INT8)
            s_a = s_next
        else:
            assert not layer.relu
            ratio = acc_scale * output_scale
            s = _shift_for(float(ratio.max()), 30)
            mq = np.round(ratio * 2.0**s).astype(np.int64)
            t = g.op("Cast", [acc], to=TensorProto.INT64)
            t = g.op("Mul", [t, g.const("out_mul", mq)])
            t = g.op("Add", [t, g.const("out_round", np.array([(1 << (s - 1)) + (1 << BIG)], np.int64))])
            t = g.op("Div", [t, g.const("out_div", np.array([1 << s], np.int64))])
            g.nodes.append(helper.make_node("Sub", [t, g.const("out_unbias", np.array([1 << (BIG - s)], np.int64))], [output_name]))
    elem = TensorProto.INT8 if input_dtype == "int8" else TensorProto.INT64
    graph = helper.make_graph(
        g.nodes,
        name,
        [helper.make_tensor_value_info(input_name, elem, [None, calib.shape[1]])],
        [helper.make_tensor_value_info(output_name, TensorProto.INT64, [None, layers[-1].w.shape[1]])],
        initializer=g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return strip_doc(model, name, doc)


def mlp_layers(clf) -> list[Dense]:
    """sklearn MLPClassifier/MLPRegressor (ReLU hidden layers) -> Dense stack."""
    ws, bs = clf.coefs_, clf.intercepts_
    return [Dense(np.asarray(w, np.float64), np.asarray(b, np.float64), i < len(ws) - 1) for i, (w, b) in enumerate(zip(ws, bs))]


def linear_layer(coef: np.ndarray, intercept: np.ndarray) -> list[Dense]:
    """sklearn linear model (coef_ [out, in] or [in]) -> one Dense layer."""
    w = np.atleast_2d(np.asarray(coef, np.float64))  # [out, in]
    return [Dense(w.T, np.atleast_1d(np.asarray(intercept, np.float64)), False)]
