"""Trains the destra model zoo from seeded synthetic generators and exports ONNX + manifests.

Run through train_all.sh (it creates the venv). Every generator is seeded, so reruns reproduce the same
data, the same models and (with pinned package versions) the same bytes.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from scipy.stats import norm
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from int8 import fold_standardiser, linear_layer, mlp_layers
from int8_variants import write_int8_variant
from volatility_regime import train_volatility_regime
from common import OPSET, ML_OPSET, Feature, OutputSpec, clip_to, quantize_like_canonical, run_onnx, strip_doc, write_model

FLOAT_SCALE = 1_000_000  # canonical input scale for float models: 6 decimals
PROB_SCALE = 10_000  # probabilities signed with 4 decimals (see docs/determinism.md)
VOL_SCALE = 10_000  # volatility in percent with 4 decimals


def dyadic_leaves(model: onnx.ModelProto, bits: int) -> onnx.ModelProto:
    """Rounds tree leaf weights and base values to multiples of 2^-bits.

    onnxruntime sums tree outputs in an order that depends on how trees are split across threads; with
    dyadic weights of bounded magnitude every partial sum is exact in float32, so the order cannot change
    the result (docs/determinism.md). The rounding moves a prediction by at most n_trees * 2^-(bits+1).
    """
    q = float(2**bits)
    for node in model.graph.node:
        if node.op_type not in ("TreeEnsembleRegressor", "TreeEnsembleClassifier"):
            continue
        for a in node.attribute:
            if a.name in ("target_weights", "class_weights", "base_values"):
                vals = [float(np.round(v * q) / q) for v in a.floats]
                del a.floats[:]
                a.floats.extend(vals)
    onnx.checker.check_model(model)
    return model


def export(est, n_features: int, name: str, doc: str, classifier: bool) -> onnx.ModelProto:
    options = None
    if classifier:
        final = est.steps[-1][1] if hasattr(est, "steps") else est
        options = {id(final): {"zipmap": False}}
    model = convert_sklearn(
        est,
        initial_types=[("features", FloatTensorType([None, n_features]))],
        target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
        options=options,
    )
    return strip_doc(model, name, doc)


# ---------------------------------------------------------------------------------------------------------
# Trading: GARCH(1,1) returns with Student-t shocks -> volatility features / next-week realised volatility.

VOL_FEATURES = [
    Feature("abs_return_t0", 0.0, 40.0),
    Feature("abs_return_t1", 0.0, 40.0),
    Feature("abs_return_t2", 0.0, 40.0),
    Feature("abs_return_t3", 0.0, 40.0),
    Feature("abs_return_t4", 0.0, 40.0),
    Feature("realized_vol_5d", 0.0, 40.0),
    Feature("realized_vol_20d", 0.0, 40.0),
    Feature("realized_vol_60d", 0.0, 40.0),
    Feature("ewma_vol_094", 0.0, 40.0),
    Feature("return_20d", -100.0, 100.0),
]


def garch_dataset(rng: np.random.Generator, assets: int = 60, steps: int = 1500):
    xs, ys = [], []
    for _ in range(assets):
        omega = rng.uniform(0.02, 0.2)
        alpha = rng.uniform(0.04, 0.15)
        beta = rng.uniform(0.75, 0.94 - alpha + 0.04)
        beta = min(beta, 0.985 - alpha)
        nu = rng.uniform(4, 10)
        z = rng.standard_t(nu, steps) / np.sqrt(nu / (nu - 2))
        r = np.empty(steps)
        s2 = omega / (1 - alpha - beta)
        for t in range(steps):
            r[t] = np.sqrt(s2) * z[t]
            s2 = omega + alpha * r[t] ** 2 + beta * s2
        r = np.clip(r, -35, 35)  # daily returns in percent
        r2 = r**2
        ewma = np.empty(steps)
        e = r2[:20].mean()
        for t in range(steps):
            e = 0.94 * e + 0.06 * r2[t]
            ewma[t] = e
        c = np.concatenate([[0.0], np.cumsum(r2)])
        cr = np.concatenate([[0.0], np.cumsum(r)])
        for t in range(60, steps - 5):
            rv = lambda w: np.sqrt((c[t + 1] - c[t + 1 - w]) / w)
            xs.append([abs(r[t]), abs(r[t - 1]), abs(r[t - 2]), abs(r[t - 3]), abs(r[t - 4]), rv(5), rv(20), rv(60), np.sqrt(ewma[t]), cr[t + 1] - cr[t - 19]])
            ys.append(np.sqrt((c[t + 6] - c[t + 1]) / 5))
    x = clip_to(VOL_FEATURES, np.array(xs))
    return quantize_like_canonical(x, FLOAT_SCALE), np.array(ys)


def train_volatility(rng):
    x, y = garch_dataset(rng)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=1)
    baseline = mean_absolute_error(yte, xte[:, 8])  # EWMA(0.94) as the forecast
    training = {"script": "models/train/train_all.py", "generator": "GARCH(1,1), Student-t shocks, 60 assets x 1500 days", "rows": int(len(x)), "seed": 20260101}
    common = dict(task="regression", domain="trading", input_name="features", input_dtype="float32", input_scale=FLOAT_SCALE, features=VOL_FEATURES)
    out = [OutputSpec("variable", "float32", [0], VOL_SCALE, ["next_5d_realized_vol_pct"])]

    ridge = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(xtr, ytr)
    m = export(ridge, x.shape[1], "volatility-forecast", "Ridge regression: next-5-day realised volatility (% daily) from GARCH features", False)
    pred = run_onnx(m.SerializeToString(), {"features": xte})[0][:, 0]
    write_model("volatility-forecast", exactness="same-family", version="1.0.0", description="Linear (ridge) forecast of next-5-day realised volatility in daily percent.", model=m, outputs=out,
                metrics={"mae": round(float(mean_absolute_error(yte, pred)), 5), "r2": round(float(r2_score(yte, pred)), 5), "baselineEwmaMae": round(float(baseline), 5), "heldOutRows": int(len(yte))}, training=training, reference=xte, **common)
    write_int8_variant("volatility-forecast", kind="regression", layers=fold_standardiser(linear_layer(ridge[-1].coef_, np.atleast_1d(ridge[-1].intercept_)), ridge[0].mean_, ridge[0].scale_),
                       xtr=xtr, xte=xte, yte=yte, float_out=pred, features=VOL_FEATURES, input_scale=FLOAT_SCALE, output_scale=VOL_SCALE, output_name="volatility",
                       labels=["next_5d_realized_vol_pct"], task="regression", domain="trading", training=training,
                       description="Integer-only int8 quantisation of volatility-forecast (ridge): the same canonical inputs, the forecast in daily percent at scale 10^4; bit-exact on every backend.")

    # 40 depth-3 trees at learning rate 0.2: the same held-out MAE as 80 trees at 0.1 (0.3687 vs 0.3686) at
    # half the per-row cost, which keeps the tree model above 700k rows/s on one core.
    gbr = GradientBoostingRegressor(n_estimators=40, max_depth=3, learning_rate=0.2, subsample=0.8, random_state=7).fit(xtr, ytr)
    m = dyadic_leaves(export(gbr, x.shape[1], "volatility-gbt", "Gradient-boosted trees: next-5-day realised volatility (% daily)", False), 14)
    pred = run_onnx(m.SerializeToString(), {"features": xte})[0][:, 0]
    write_model("volatility-gbt", exactness="any-hardware", version="1.0.0", description="Gradient-boosted tree ensemble (ONNX-ML TreeEnsembleRegressor) forecasting next-5-day realised volatility.", model=m, outputs=out,
                metrics={"mae": round(float(mean_absolute_error(yte, pred)), 5), "r2": round(float(r2_score(yte, pred)), 5), "baselineEwmaMae": round(float(baseline), 5), "heldOutRows": int(len(yte))}, training=training, reference=xte, **common)


# ---------------------------------------------------------------------------------------------------------
# Trading: regime-switching (Markov trend) prices -> direction of the next 5 days.

DIR_FEATURES = [Feature(f"return_lag{i}", -30.0, 30.0) for i in range(1, 6)] + [
    Feature("ma20_gap_pct", -60.0, 60.0),
    Feature("rsi14", 0.0, 100.0),
    Feature("volume_z", -6.0, 6.0),
    Feature("realized_vol_20d", 0.0, 30.0),
    Feature("return_20d", -100.0, 100.0),
]


def direction_dataset(rng, assets=80, steps=1200):
    xs, ys = [], []
    for _ in range(assets):
        p_stay = rng.uniform(0.95, 0.99)
        drift = rng.uniform(0.1, 0.4)
        vol = rng.uniform(0.8, 3.0)
        state = 1
        r = np.empty(steps)
        v = np.empty(steps)
        for t in range(steps):
            if rng.random() > p_stay:
                state = -state
            prev = r[t - 1] if t else 0.0
            r[t] = state * drift + 0.05 * prev + vol * rng.standard_normal()
            v[t] = 0.6 * abs(r[t]) / vol + 0.3 * (state > 0) + 0.5 * rng.standard_normal()
        logp = np.cumsum(r) / 100
        price = np.exp(logp)
        for t in range(25, steps - 5):
            gains = np.clip(r[t - 13 : t + 1], 0, None).sum()
            losses = -np.clip(r[t - 13 : t + 1], None, 0).sum()
            rsi = 100 * gains / (gains + losses + 1e-9)
            ma = price[t - 19 : t + 1].mean()
            vz = (v[t] - v[t - 19 : t + 1].mean()) / (v[t - 19 : t + 1].std() + 1e-9)
            xs.append([r[t], r[t - 1], r[t - 2], r[t - 3], r[t - 4], 100 * (price[t] / ma - 1), rsi, vz, r[t - 19 : t + 1].std(), r[t - 19 : t + 1].sum()])
            ys.append(int(r[t + 1 : t + 6].sum() > 0))
    x = clip_to(DIR_FEATURES, np.array(xs))
    return quantize_like_canonical(x, FLOAT_SCALE), np.array(ys)


def train_direction(rng):
    x, y = direction_dataset(rng)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=2)
    clf = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), alpha=1e-3, max_iter=300, random_state=3)).fit(xtr, ytr)
    m = export(clf, x.shape[1], "price-direction", "MLP: probability that the next 5 days' return is positive", True)
    label, prob = run_onnx(m.SerializeToString(), {"features": xte})
    write_model("price-direction", exactness="same-family", version="1.0.0", task="binary-classification", domain="trading",
                description="MLP (16 ReLU units) probability that the next five days' cumulative return is positive (Markov-switching trend generator).",
                model=m, input_name="features", input_dtype="float32", input_scale=FLOAT_SCALE, features=DIR_FEATURES,
                outputs=[OutputSpec("probabilities", "float32", [1], PROB_SCALE, ["p_up"])],
                metrics={"accuracy": round(float(accuracy_score(yte, label)), 5), "auc": round(float(roc_auc_score(yte, prob[:, 1])), 5), "baseRate": round(float(yte.mean()), 5), "heldOutRows": int(len(yte))},
                reference=xte, training={"script": "models/train/train_all.py", "generator": "2-state Markov trend + AR(1) returns, volume tied to regime", "rows": int(len(x)), "seed": 20260102})
    write_int8_variant("price-direction", kind="binary", layers=fold_standardiser(mlp_layers(clf[-1]), clf[0].mean_, clf[0].scale_),
                       xtr=xtr, xte=xte, yte=yte, float_out=prob[:, 1], features=DIR_FEATURES, input_scale=FLOAT_SCALE, output_scale=PROB_SCALE, output_name="logit",
                       labels=["logit_up"], task="binary-classification", domain="trading", training={"script": "models/train/train_all.py", "seed": 20260102},
                       description="Integer-only int8 quantisation of price-direction (MLP, 16 ReLU): the same canonical inputs; output is the logit at scale 10^4 (up when > 0); bit-exact on every backend.")


# ---------------------------------------------------------------------------------------------------------
# Trading: lending positions -> probability of liquidation within the horizon (GBM first-passage).

LIQ_FEATURES = [
    Feature("health_factor", 0.8, 5.0),
    Feature("asset_vol_annual_pct", 5.0, 250.0),
    Feature("horizon_days", 1.0, 30.0),
    Feature("log10_position_usd", 2.0, 8.0),
    Feature("log10_liquidity_usd", 3.0, 10.0),
    Feature("drift_30d_pct", -60.0, 60.0),
    Feature("collateral_correlation", -1.0, 1.0),
]


def liquidation_dataset(rng, n=60000):
    hf = np.exp(rng.uniform(np.log(0.95), np.log(5.0), n))
    vol = np.exp(rng.uniform(np.log(5), np.log(250), n))
    horizon = rng.integers(1, 31, n).astype(float)
    pos = rng.uniform(2, 8, n)
    liq = rng.uniform(3, 10, n)
    drift = rng.normal(0, 15, n)
    corr = rng.uniform(-1, 1, n)
    slippage = np.clip(10 ** (pos - liq), 0, 0.5)  # selling the collateral moves the price
    eff_vol = vol * np.sqrt(np.clip(1 - 0.8 * corr, 0.05, 2))  # correlated debt hedges the move
    barrier = np.log(np.clip(1 / (hf * (1 - slippage)), 1e-6, None))  # log price move that triggers liquidation
    s = eff_vol / 100 * np.sqrt(horizon / 365)
    mu = drift / 100 * horizon / 30
    p = np.where(barrier >= 0, 1.0, np.clip(2 * norm.cdf((barrier - mu) / s), 0, 1))
    y = (rng.random(n) < p).astype(int)
    x = clip_to(LIQ_FEATURES, np.stack([hf, vol, horizon, pos, liq, drift, corr], 1))
    return quantize_like_canonical(x, FLOAT_SCALE), y


def train_liquidation(rng):
    x, y = liquidation_dataset(rng)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=4)
    clf = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(24,), alpha=1e-3, max_iter=300, random_state=5)).fit(xtr, ytr)
    m = export(clf, x.shape[1], "liquidation-risk", "MLP: probability of liquidation within the horizon", True)
    label, prob = run_onnx(m.SerializeToString(), {"features": xte})
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(xtr, ytr)
    write_model("liquidation-risk", exactness="same-family", version="1.0.0", task="binary-classification", domain="trading",
                description="MLP (24 ReLU units) probability that a lending position is liquidated within the horizon (GBM first-passage generator with slippage and hedging).",
                model=m, input_name="features", input_dtype="float32", input_scale=FLOAT_SCALE, features=LIQ_FEATURES,
                outputs=[OutputSpec("probabilities", "float32", [1], PROB_SCALE, ["p_liquidation"])],
                metrics={"accuracy": round(float(accuracy_score(yte, label)), 5), "auc": round(float(roc_auc_score(yte, prob[:, 1])), 5),
                         "baselineLogisticAuc": round(float(roc_auc_score(yte, lr.predict_proba(xte)[:, 1])), 5), "baseRate": round(float(yte.mean()), 5), "heldOutRows": int(len(yte))},
                reference=xte, training={"script": "models/train/train_all.py", "generator": "GBM first-passage probability of the liquidation barrier", "rows": int(len(x)), "seed": 20260103})
    write_int8_variant("liquidation-risk", kind="binary", layers=fold_standardiser(mlp_layers(clf[-1]), clf[0].mean_, clf[0].scale_),
                       xtr=xtr, xte=xte, yte=yte, float_out=prob[:, 1], features=LIQ_FEATURES, input_scale=FLOAT_SCALE, output_scale=PROB_SCALE, output_name="logit",
                       labels=["logit_liquidation"], task="binary-classification", domain="trading", training={"script": "models/train/train_all.py", "seed": 20260103},
                       description="Integer-only int8 quantisation of liquidation-risk (MLP, 24 ReLU): the same canonical inputs; output is the logit at scale 10^4 (liquidated when > 0); bit-exact on every backend.")


def train_liquidation_forest(rng):
    """The liquidation task as a random forest: tree comparisons on float32 inputs are exact and the dyadic leaf
    weights sum exactly in float32, so this model is any-hardware without quantisation (same data and split)."""
    x, y = liquidation_dataset(rng)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=4)
    clf = RandomForestClassifier(n_estimators=24, max_depth=9, min_samples_leaf=20, random_state=12, n_jobs=1).fit(xtr, ytr)
    m = dyadic_leaves(export(clf, x.shape[1], "liquidation-forest", "Random forest: probability of liquidation within the horizon", True), 20)
    label, prob = run_onnx(m.SerializeToString(), {"features": xte})
    write_model("liquidation-forest", exactness="any-hardware", version="1.0.0", task="binary-classification", domain="trading",
                description="Random forest (ONNX-ML TreeEnsembleClassifier, 24 trees of depth <= 9, dyadic leaves) probability that a lending position is liquidated within the horizon; exact on every backend.",
                model=m, input_name="features", input_dtype="float32", input_scale=FLOAT_SCALE, features=LIQ_FEATURES,
                outputs=[OutputSpec("probabilities", "float32", [1], PROB_SCALE, ["p_liquidation"])],
                metrics={"accuracy": round(float(accuracy_score(yte, label)), 5), "auc": round(float(roc_auc_score(yte, prob[:, 1])), 5), "baseRate": round(float(yte.mean()), 5), "heldOutRows": int(len(yte))},
                reference=xte, training={"script": "models/train/train_all.py", "generator": "GBM first-passage probability of the liquidation barrier", "rows": int(len(x)), "seed": 20260103})


# ---------------------------------------------------------------------------------------------------------
# Audit: transactions described relative to the sender's history (robust z-scores) -> anomaly.

TX_FEATURES = [
    Feature("value_z", -8.0, 7.9375),
    Feature("gas_price_z", -8.0, 7.9375),
    Feature("hour_deviation", -8.0, 7.9375),
    Feature("new_recipient", -8.0, 7.9375),
    Feature("nonce_gap", -8.0, 7.9375),
    Feature("contract_call", -8.0, 7.9375),
    Feature("approval_amount_z", -8.0, 7.9375),
    Feature("time_since_last_z", -8.0, 7.9375),
    Feature("fan_out_z", -8.0, 7.9375),
    Feature("failed_ratio_z", -8.0, 7.9375),
]
TX_SCALE = 16  # 1/16 resolution: an int8 code per feature, shared by the float and int8 variants


def tx_dataset(rng, n=60000, anomaly_rate=0.06):
    x = rng.standard_normal((n, 10)) * 0.9
    x[:, 3] = (rng.random(n) < 0.15).astype(float)  # new recipient flag
    x[:, 4] = rng.poisson(0.05, n)  # nonce gap
    x[:, 5] = (rng.random(n) < 0.4).astype(float)  # contract call flag
    x[:, 2] = np.abs(rng.standard_normal(n)) * 1.2
    x[:, 1] += 0.3 * x[:, 0]  # bigger transfers pay more gas
    y = np.zeros(n, int)
    anomalous = rng.random(n) < anomaly_rate
    kind = rng.integers(0, 4, n)
    a = anomalous
    drain, phish, bot, front = a & (kind == 0), a & (kind == 1), a & (kind == 2), a & (kind == 3)
    x[drain, 0] += rng.uniform(2, 6, drain.sum()); x[drain, 3] = 1; x[drain, 8] += rng.uniform(1, 4, drain.sum()); x[drain, 2] += rng.uniform(0, 3, drain.sum())
    x[phish, 6] += rng.uniform(2.5, 6, phish.sum()); x[phish, 5] = 1; x[phish, 3] = (rng.random(phish.sum()) < 0.8)
    x[bot, 7] -= rng.uniform(2, 5, bot.sum()); x[bot, 8] += rng.uniform(1.5, 5, bot.sum()); x[bot, 9] += rng.uniform(1, 4, bot.sum())
    x[front, 1] += rng.uniform(2, 6, front.sum()); x[front, 5] = 1; x[front, 4] += rng.poisson(1.5, front.sum())
    y[a] = 1
    x = clip_to(TX_FEATURES, x)
    return (np.round(x * TX_SCALE) / TX_SCALE).astype(np.float32), y


def build_int8_mlp(clf: MLPClassifier, name: str) -> tuple[onnx.ModelProto, float]:
    """Integer-only graph: int8 codes -> MatMulInteger (int32) -> +bias -> max(.,0) -> int64 MatMul -> +bias.

    Every op is exact integer arithmetic, so any CPU/GPU/thread count/batch size gives the same bits.
    Returns the model and the output scale (logit = output / scale).
    """
    w1, w2 = clf.coefs_
    b1, b2 = clf.intercepts_
    s_w1 = 127.0 / np.abs(w1).max()
    w1q = np.round(w1 * s_w1).astype(np.int8)
    acc1_scale = TX_SCALE * s_w1  # hidden int32 = hidden_float * acc1_scale
    b1q = np.round(b1 * acc1_scale).astype(np.int32)
    s_w2 = 127.0 / np.abs(w2).max()
    w2q = np.round(w2 * s_w2).astype(np.int64)
    out_scale = acc1_scale * s_w2
    b2q = np.round(b2 * out_scale).astype(np.int64)
    nodes = [
        helper.make_node("MatMulInteger", ["features", "w1"], ["acc1"]),
        helper.make_node("Add", ["acc1", "b1"], ["pre1"]),
        helper.make_node("Max", ["pre1", "zero32"], ["hidden"]),  # ReLU as an integer max
        helper.make_node("Cast", ["hidden"], ["hidden64"], to=TensorProto.INT64),
        helper.make_node("MatMul", ["hidden64", "w2"], ["acc2"]),
        helper.make_node("Add", ["acc2", "b2"], ["logit"]),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("features", TensorProto.INT8, [None, w1.shape[0]])],
        [helper.make_tensor_value_info("logit", TensorProto.INT64, [None, 1])],
        initializer=[
            numpy_helper.from_array(w1q, "w1"),
            numpy_helper.from_array(b1q, "b1"),
            numpy_helper.from_array(np.zeros((1,), np.int32), "zero32"),
            numpy_helper.from_array(w2q, "w2"),
            numpy_helper.from_array(b2q, "b2"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return strip_doc(model, name, "int8 integer-only MLP for anomalous transactions"), float(out_scale)


def train_tx(rng):
    x, y = tx_dataset(rng)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=6)
    clf = MLPClassifier(hidden_layer_sizes=(16,), alpha=1e-3, max_iter=400, random_state=8).fit(xtr, ytr)
    training = {"script": "models/train/train_all.py", "generator": "sender-relative z-scores; drain/phishing-approval/bot/front-run anomaly archetypes", "rows": int(len(x)), "seed": 20260104}
    m = export(clf, x.shape[1], "tx-anomaly", "MLP: probability that a transaction is anomalous", True)
    label, prob = run_onnx(m.SerializeToString(), {"features": xte})
    float_auc = float(roc_auc_score(yte, prob[:, 1]))
    write_model("tx-anomaly", exactness="same-family", version="1.0.0", task="binary-classification", domain="audit",
                description="MLP (16 ReLU units) probability that a transaction is anomalous for its sender (drain, phishing approval, bot burst, front-run).",
                model=m, input_name="features", input_dtype="float32", input_scale=TX_SCALE, features=TX_FEATURES,
                outputs=[OutputSpec("probabilities", "float32", [1], PROB_SCALE, ["p_anomalous"])],
                metrics={"accuracy": round(float(accuracy_score(yte, label)), 5), "auc": round(float_auc, 5), "f1": round(float(f1_score(yte, label)), 5), "baseRate": round(float(yte.mean()), 5), "heldOutRows": int(len(yte))},
                training=training, reference=xte)

    q, out_scale = build_int8_mlp(clf, "tx-anomaly-int8")
    codes = np.round(xte * TX_SCALE).astype(np.int8)
    logit = run_onnx(q.SerializeToString(), {"features": codes})[0][:, 0]
    qlabel = (logit > 0).astype(int)
    write_model("tx-anomaly-int8", exactness="any-hardware", version="1.0.0", task="binary-classification", domain="audit",
                description="Integer-only int8 quantisation of tx-anomaly: MatMulInteger/Add/Max/int64 MatMul; bit-exact on every backend. Output is the logit as an integer (logit = value / outputScale; anomalous when > 0).",
                model=q, input_name="features", input_dtype="int8", input_scale=TX_SCALE, features=TX_FEATURES,
                outputs=[OutputSpec("logit", "int64", [0], round(out_scale, 6), ["logit_anomalous"])],
                metrics={"accuracy": round(float(accuracy_score(yte, qlabel)), 5), "auc": round(float(roc_auc_score(yte, logit)), 5), "f1": round(float(f1_score(yte, qlabel)), 5),
                         "floatModelAuc": round(float_auc, 5), "labelAgreementWithFloat": round(float((qlabel == label).mean()), 5), "heldOutRows": int(len(yte))},
                reference=xte, training={**training, "quantization": "symmetric per-tensor int8 weights, int32 hidden accumulators, int64 output layer"})


# ---------------------------------------------------------------------------------------------------------
# Audit: opcode-group histograms of contract bytecode -> risky contract.

OPCODE_GROUPS = ["push", "dup", "swap", "arith", "compare", "bitwise", "jump", "jumpi", "memory", "sload", "sstore", "call",
                 "staticcall", "delegatecall", "callcode", "create", "create2", "selfdestruct", "origin", "caller", "callvalue", "log", "revert", "timestamp"]
BYTECODE_FEATURES = [Feature(f"frac_{g}", 0.0, 1.0) for g in OPCODE_GROUPS] + [Feature("log2_code_size", 4.0, 15.0)]


def bytecode_dataset(rng, n=30000):
    base = np.array([30, 12, 8, 8, 6, 4, 5, 4, 8, 3, 2, 0.8, 0.4, 0.1, 0.02, 0.05, 0.02, 0.02, 0.05, 1.0, 0.5, 1.0, 1.5, 0.2])
    idx = {g: i for i, g in enumerate(OPCODE_GROUPS)}
    archetypes = {  # (boost per group, is risky, weight)
        "token": ({"sstore": 2.0, "log": 2.0, "caller": 1.5}, 0, 0.35),
        "dex": ({"call": 2.0, "staticcall": 3.0, "arith": 1.5, "timestamp": 2.0}, 0, 0.2),
        "proxy": ({"delegatecall": 60.0, "sload": 2.0, "memory": 1.5}, 0, 0.15),
        "wallet": ({"call": 3.0, "callvalue": 2.0, "create2": 20.0}, 0, 0.1),
        "drainer": ({"delegatecall": 20.0, "selfdestruct": 40.0, "origin": 20.0, "call": 3.0}, 1, 0.08),
        "honeypot": ({"origin": 30.0, "revert": 3.0, "sstore": 2.0, "jumpi": 1.5}, 1, 0.07),
        "rugpull": ({"selfdestruct": 30.0, "create2": 25.0, "callcode": 30.0}, 1, 0.05),
    }
    names = list(archetypes)
    probs = np.array([archetypes[k][2] for k in names]); probs /= probs.sum()
    kinds = rng.choice(len(names), n, p=probs)
    x = np.zeros((n, len(BYTECODE_FEATURES)))
    y = np.zeros(n, int)
    for i, k in enumerate(kinds):
        boost, risky, _ = archetypes[names[k]]
        alpha = base.copy()
        for g, b in boost.items():
            alpha[idx[g]] *= b * rng.uniform(0.3, 1.5)  # archetypes overlap: not every drainer self-destructs
        size = rng.uniform(8, 14.5)
        x[i, :-1] = rng.dirichlet(alpha * 4)
        x[i, -1] = size
        y[i] = risky
    x = clip_to(BYTECODE_FEATURES, x)
    return quantize_like_canonical(x, FLOAT_SCALE), y


def train_bytecode(rng):
    x, y = bytecode_dataset(rng)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=9)
    clf = RandomForestClassifier(n_estimators=30, max_depth=8, min_samples_leaf=5, random_state=10, n_jobs=1).fit(xtr, ytr)
    m = dyadic_leaves(export(clf, x.shape[1], "bytecode-risk", "Random forest: probability that contract bytecode is malicious", True), 20)
    label, prob = run_onnx(m.SerializeToString(), {"features": xte})
    write_model("bytecode-risk", exactness="any-hardware", version="1.0.0", task="binary-classification", domain="audit",
                description="Random forest (ONNX-ML TreeEnsembleClassifier, 30 trees) probability that a contract is malicious from its opcode-group histogram.",
                model=m, input_name="features", input_dtype="float32", input_scale=FLOAT_SCALE, features=BYTECODE_FEATURES,
                outputs=[OutputSpec("probabilities", "float32", [1], PROB_SCALE, ["p_malicious"])],
                metrics={"accuracy": round(float(accuracy_score(yte, label)), 5), "auc": round(float(roc_auc_score(yte, prob[:, 1])), 5), "f1": round(float(f1_score(yte, label)), 5), "baseRate": round(float(yte.mean()), 5), "heldOutRows": int(len(yte))},
                reference=xte, training={"script": "models/train/train_all.py", "generator": "Dirichlet opcode histograms over 7 overlapping archetypes (token, dex, proxy, wallet, drainer, honeypot, rugpull)", "rows": int(len(x)), "seed": 20260105})


# ---------------------------------------------------------------------------------------------------------
# Governance: bag-of-words counts over a fixed vocabulary -> proposal category (topic-mixture generator).

VOCAB = ["treasury", "fund", "transfer", "budget", "usdc", "multisig", "parameter", "fee", "rate", "collateral", "ratio", "threshold",
         "upgrade", "contract", "implementation", "proxy", "audit", "bug", "grant", "builder", "ecosystem", "milestone", "research", "community",
         "election", "delegate", "council", "seat", "vote", "term", "the", "and", "proposal", "dao", "we", "this", "token", "protocol", "will", "to"]
CLASSES = ["treasury", "parameter", "upgrade", "grant", "election"]
GOV_FEATURES = [Feature(f"count_{w}", 0.0, 1000.0) for w in VOCAB]


def governance_dataset(rng, n=20000):
    v = len(VOCAB)
    background = np.ones(v) * 0.2
    background[30:] = 3.0
    topics = np.full((len(CLASSES), v), 0.05)
    for c in range(5):
        topics[c, c * 6 : c * 6 + 6] = 2.5
    topics[0, [12, 18]] = 0.6; topics[3, [0, 1]] = 1.2; topics[2, [6, 16]] = 0.8; topics[4, [28]] = 1.0; topics[1, [17]] = 0.5
    y = rng.integers(0, 5, n)
    x = np.zeros((n, v))
    for i in range(n):
        mix = rng.beta(2, 5)  # share of on-topic words
        p = mix * rng.dirichlet(topics[y[i]] * 3) + (1 - mix) * rng.dirichlet(background * 3)
        x[i] = rng.multinomial(rng.poisson(150) + 20, p)
    return x.astype(np.float32), y


def train_governance(rng):
    x, y = governance_dataset(rng)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=11)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5)).fit(xtr, ytr)
    m = export(clf, x.shape[1], "proposal-classifier", "Multinomial logistic regression over bag-of-words counts", True)
    label, prob = run_onnx(m.SerializeToString(), {"features": xte})
    write_model("proposal-classifier", exactness="same-family", version="1.0.0", task="multiclass-classification", domain="governance",
                description="Multinomial logistic regression classifying a DAO proposal (treasury, parameter, upgrade, grant, election) from word counts over a 40-word vocabulary.",
                model=m, input_name="features", input_dtype="float32", input_scale=1, features=GOV_FEATURES,
                outputs=[OutputSpec("probabilities", "float32", list(range(5)), PROB_SCALE, [f"p_{c}" for c in CLASSES])],
                metrics={"accuracy": round(float(accuracy_score(yte, label)), 5), "macroF1": round(float(f1_score(yte, label, average="macro")), 5), "classes": CLASSES, "heldOutRows": int(len(yte))},
                reference=xte, training={"script": "models/train/train_all.py", "generator": "topic mixture: class topic + background words, multinomial counts", "rows": int(len(x)), "seed": 20260106})
    write_int8_variant("proposal-classifier", kind="multiclass", layers=fold_standardiser(linear_layer(clf[-1].coef_, clf[-1].intercept_), clf[0].mean_, clf[0].scale_),
                       xtr=xtr, xte=xte, yte=yte, float_out=prob, features=GOV_FEATURES, input_scale=1, output_scale=PROB_SCALE, output_name="logits",
                       labels=[f"logit_{c}" for c in CLASSES], task="multiclass-classification", domain="governance", training={"script": "models/train/train_all.py", "seed": 20260106},
                       description="Integer-only int8 quantisation of proposal-classifier (multinomial logistic regression): the same canonical inputs; outputs are the five class logits at scale 10^4 (the class is the largest); bit-exact on every backend.")


def write_noise_fixture():
    """A deliberately nondeterministic model (unseeded RandomUniformLike) used only by the tests of
    `destra models check`, to prove that the checker detects disagreement. Never shipped in the zoo."""
    import os
    from common import MODELS_DIR
    nodes = [helper.make_node("RandomUniformLike", ["features"], ["noise"], dtype=TensorProto.FLOAT), helper.make_node("Add", ["features", "noise"], ["out"])]
    graph = helper.make_graph(nodes, "random-noise", [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, 2])], [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, 2])])
    model = strip_doc(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), "random-noise", "nondeterministic test fixture")
    model.ir_version = 8
    import hashlib, json
    d = os.path.join(MODELS_DIR, "test", "fixtures", "random-noise")
    os.makedirs(d, exist_ok=True)
    data = model.SerializeToString()
    open(os.path.join(d, "model.onnx"), "wb").write(data)
    manifest = {"name": "random-noise", "version": "1.0.0", "task": "regression", "domain": "test", "description": "nondeterministic fixture for the determinism checker's tests",
                "file": "model.onnx", "sha256": hashlib.sha256(data).hexdigest(),
                "inputs": [{"name": "features", "dtype": "float32", "shape": [-1, 2], "scale": 1000, "features": [{"name": "a", "min": -1, "max": 1}, {"name": "b", "min": -1, "max": 1}]}],
                "outputs": [{"name": "out", "dtype": "float32", "columns": [0, 1], "scale": 1000000}], "exactness": "same-family", "parameters": 0, "metrics": {}}
    json.dump(manifest, open(os.path.join(d, "manifest.json"), "w"), indent=2)


if __name__ == "__main__":
    write_noise_fixture()
    train_volatility(np.random.default_rng(20260101))
    train_direction(np.random.default_rng(20260102))
    train_liquidation(np.random.default_rng(20260103))
    train_liquidation_forest(np.random.default_rng(20260103))
    train_tx(np.random.default_rng(20260104))
    train_bytecode(np.random.default_rng(20260105))
    train_governance(np.random.default_rng(20260106))
    train_volatility_regime(np.random.default_rng(20260107))
