"""The compiled step plan against the layer-by-layer path (the oracle whose kernels are
tested against NumPy, finite differences and PyTorch elsewhere)."""
import copy
import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nnkernels
from nnkernels import SGD, Adam, Dense, RMSProp, Sequential, plan, training
from nnkernels._plan import flushes_denormals

DIMS = [13, 37, 21, 5]
ROWS, BATCH = 310, 16           # 20 steps, the last one of 6 rows
TOL = {"float64": 1e-12, "float32": 1e-5}

OPTIMIZERS = {
    "rmsprop": lambda: RMSProp(lr=1e-2, weight_decay=1e-3),
    "rmsprop_gorgonia": lambda: RMSProp.gorgonia(lr=1e-3),
    "sgd": lambda: SGD(lr=0.05),
    "momentum": lambda: SGD(lr=0.05, momentum=0.9, weight_decay=1e-3),
    "nesterov": lambda: SGD(lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda: Adam(lr=1e-2, weight_decay=1e-3),
    "adamw": lambda: Adam(lr=1e-2, weight_decay=1e-2, decoupled_weight_decay=True),
}


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request, monkeypatch):
    monkeypatch.setattr(plan, "MIN_FLOPS_PER_THREAD", 0)  # small models on 2 threads too
    with nnkernels.num_threads(request.param):
        yield request.param


def _model(dtype, activations=("relu", "sigmoid", None), loss="softmax_cross_entropy",
           optimizer="rmsprop", dims=DIMS, seed=0):
    layers = [Dense(a, b, act, dtype=dtype, seed=seed + i)
              for i, (a, b, act) in enumerate(zip(dims[:-1], dims[1:], activations))]
    model = Sequential(layers)
    model.compile(OPTIMIZERS[optimizer](), loss)
    return model


def _data(dtype, loss, dims=DIMS, rows=ROWS):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((rows, dims[0])).astype(dtype)
    if loss == "softmax_cross_entropy":
        return x, rng.integers(0, dims[-1], rows)
    return x, rng.random((rows, dims[-1])).astype(dtype)


def _layer_path(model, x, y, batch, seed, shuffle=True):
    """fit's epoch, step by step through the layers: the per-step losses."""
    batches = training._Batches(x, y, batch, shuffle, np.random.default_rng(seed))
    return [loss for _, _, loss, _ in training._layer_steps(model, batches)]


def _plan_path(model, x, y, batch, seed, shuffle=True):
    assert plan.uses_plan(model)
    batches = training._Batches(x, y, batch, shuffle, np.random.default_rng(seed))
    run = plan.TrainingRun(model, x, y, batch)
    return [loss for _, _, loss, _ in training._plan_steps(run, batches, [3])]


def _assert_close(a, b, dtype):
    tol = TOL[dtype]
    for pa, pb in zip(a.parameters(), b.parameters()):
        scale = max(np.abs(pb.data).max(), 1e-30)
        assert np.abs(pa.data - pb.data).max() <= tol * scale, (pa.shape, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_plan_matches_layers_for_every_optimizer(dtype, optimizer, threads):
    x, y = _data(dtype, "softmax_cross_entropy")
    a, b = _model(dtype, optimizer=optimizer), _model(dtype, optimizer=optimizer)
    losses_plan = _plan_path(a, x, y, BATCH, seed=3)
    losses_layers = _layer_path(b, x, y, BATCH, seed=3)
    assert len(losses_plan) == len(losses_layers) == 20
    np.testing.assert_allclose(losses_plan, losses_layers, rtol=TOL[dtype])
    _assert_close(a, b, dtype)
    assert a.optimizer.iterations == b.optimizer.iterations == 20


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss,activations", [
    ("mse", ("relu", "relu", "sigmoid")),
    ("mse", ("sigmoid", None, None)),
    ("binary_cross_entropy", ("relu", "sigmoid", None)),
    ("softmax_cross_entropy", (None, "relu", None)),
])
def test_plan_matches_layers_for_every_loss_and_activation(dtype, loss, activations, threads):
    x, y = _data(dtype, loss)
    a, b = _model(dtype, activations, loss), _model(dtype, activations, loss)
    np.testing.assert_allclose(_plan_path(a, x, y, BATCH, 5), _layer_path(b, x, y, BATCH, 5),
                               rtol=TOL[dtype])
    _assert_close(a, b, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_autoencoder_targets_are_its_inputs_and_unshuffled_rows(dtype, threads):
    dims = [20, 9, 20]
    x, _ = _data(dtype, "mse", dims)
    a = _model(dtype, ("relu", "sigmoid"), "mse", dims=dims)
    b = _model(dtype, ("relu", "sigmoid"), "mse", dims=dims)
    for shuffle in (True, False):
        np.testing.assert_allclose(_plan_path(a, x, x, BATCH, 7, shuffle),
                                   _layer_path(b, x, x, BATCH, 7, shuffle), rtol=TOL[dtype])
    _assert_close(a, b, dtype)


def test_one_layer_logistic_model(threads):
    x, y = _data("float64", "binary_cross_entropy", [6, 1])
    a = _model("float64", (None,), "binary_cross_entropy", "sgd", dims=[6, 1])
    b = _model("float64", (None,), "binary_cross_entropy", "sgd", dims=[6, 1])
    np.testing.assert_allclose(_plan_path(a, x, y, 32, 0), _layer_path(b, x, y, 32, 0),
                               rtol=1e-12)
    _assert_close(a, b, "float64")
    np.testing.assert_allclose(a.predict(x), 1 / (1 + np.exp(-(x @ a.layers[0].weight.data
                                                              + a.layers[0].bias.data))),
                               rtol=1e-12)


def test_fit_uses_the_plan_and_gives_the_layer_paths_numbers():
    x, y = _data("float64", "softmax_cross_entropy")
    a, b = _model("float64"), _model("float64")
    history = a.fit(x, y, epochs=2, batch_size=BATCH, seed=4, verbose=0)
    rng = np.random.default_rng(4)
    batches = training._Batches(x, y, BATCH, True, rng)
    for epoch in range(2):
        losses = [loss for _, _, loss, _ in training._layer_steps(b, batches)]
    _assert_close(a, b, "float64")
    assert history.history["loss"][-1] == pytest.approx(
        np.average(losses, weights=[16] * 19 + [6]), rel=1e-12)


def test_the_plan_is_rebuilt_when_batch_dtype_optimizer_or_architecture_change(threads):
    x, y = _data("float64", "softmax_cross_entropy")
    a, b = _model("float64"), _model("float64")
    for batch in (16, 32, 16):
        _plan_path(a, x, y, batch, 1)
        _layer_path(b, x, y, batch, 1)
    _assert_close(a, b, "float64")
    for model in (a, b):
        model.compile(Adam(lr=1e-3), "softmax_cross_entropy")
    _plan_path(a, x, y, 16, 2)
    _layer_path(b, x, y, 16, 2)
    _assert_close(a, b, "float64")
    # Another architecture and dtype: a new model, a new plan.
    c, d = _model("float32", dims=[13, 8, 8, 5]), _model("float32", dims=[13, 8, 8, 5])
    xf = x.astype(np.float32)
    np.testing.assert_allclose(_plan_path(c, xf, y, 16, 3), _layer_path(d, xf, y, 16, 3),
                               rtol=1e-5)


def test_a_replaced_weight_array_is_adopted(threads):
    x, y = _data("float64", "softmax_cross_entropy")
    a, b = _model("float64"), _model("float64")
    _plan_path(a, x, y, BATCH, 0)
    _layer_path(b, x, y, BATCH, 0)
    new = np.random.default_rng(9).standard_normal((DIMS[0], DIMS[1]))
    a.layers[0].weight.data = new.copy()   # a new array, not a write into the old one
    b.layers[0].weight.data = new.copy()
    b.set_weights(b.get_weights())
    _plan_path(a, x, y, BATCH, 1)
    _layer_path(b, x, y, BATCH, 1)
    _assert_close(a, b, "float64")
    assert a.layers[0].weight.data is a.engine.data.views[0]


def test_predict_notices_every_change_its_kept_plan_depends_on(threads):
    """predict keeps its plan with what it was built for: a replaced weight or bias
    array, layer, loss or thread count is noticed, and the output is the layer path's."""
    x, _ = _data("float64", "softmax_cross_entropy")
    a, b = _model("float64"), _model("float64")
    rng = np.random.default_rng(4)

    def same():
        expected = np.empty((7, b.out_features))
        b.loss.output(b.forward(x[:7]), expected)   # the layer path
        np.testing.assert_allclose(a.predict(x[:7]), expected, rtol=1e-12)
        assert a.engine.inference_plan(a, 7) is a.engine.inference_plan(a, 7)  # kept

    same()
    for layer_a, layer_b in zip(a.layers, b.layers):
        for name in ("weight", "bias"):
            new = rng.standard_normal(getattr(layer_a, name).shape)
            getattr(layer_a, name).data = new.copy()
            getattr(layer_b, name).data = new.copy()
            same()
    a.layers[1] = copy.deepcopy(b.layers[1])
    b.layers[1] = copy.deepcopy(b.layers[1])
    same()
    a.compile(RMSProp(), "mse")
    b.compile(RMSProp(), "mse")
    same()
    with nnkernels.num_threads(1):
        same()


def test_fit_keeps_its_plan_until_an_array_it_was_built_over_is_replaced(threads):
    """The training plan is handed out again while its buffers are the same; a
    replaced optimizer state array or gradient array is adopted (the state's values
    are the ones the next step uses, as on the layer path)."""
    x, y = _data("float64", "softmax_cross_entropy")
    a, b = _model("float64"), _model("float64")
    _plan_path(a, x, y, BATCH, 0)
    _layer_path(b, x, y, BATCH, 0)
    first = a.engine.plan(a, BATCH, training=True)
    assert a.engine.plan(a, BATCH, training=True) is first
    for model in (a, b):   # a new cache array for the first weight, halved values
        state = model.optimizer.state[0]
        state["cache"] = state["cache"] * 0.5
    assert a.engine.plan(a, BATCH, training=True) is not first
    assert a.optimizer.state[0]["cache"] is a.engine.states[0].views[0]
    _plan_path(a, x, y, BATCH, 1)
    _layer_path(b, x, y, BATCH, 1)
    _assert_close(a, b, "float64")
    a.layers[2].bias.grad = np.zeros_like(a.layers[2].bias.grad)   # a new gradient array
    assert a.engine.plan(a, BATCH, training=True).n_threads == threads
    assert a.layers[2].bias.grad is a.engine.grad.views[-1]


def test_weights_loaded_in_place_are_used(tmp_path, threads):
    x, y = _data("float32", "softmax_cross_entropy")
    a = _model("float32")
    a.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
    nnkernels.save(a, tmp_path / "m.safetensors")
    b = _model("float32", seed=100)
    b.predict(x)  # builds b's inference plan before its weights change
    b.set_weights(nnkernels.load(tmp_path / "m.safetensors").get_weights())
    np.testing.assert_array_equal(b.predict(x), a.predict(x))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss,last", [("softmax_cross_entropy", None), ("mse", "sigmoid"),
                                       ("binary_cross_entropy", None)])
@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_predict_and_evaluate_match_the_layers(dtype, loss, last, batch_size, threads):
    x, y = _data(dtype, loss)
    model = _model(dtype, ("relu", "relu", last), loss)
    model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
    rtol = TOL[dtype] * 10
    expected = np.empty((x.shape[0], DIMS[-1]), dtype)
    model.loss.output(model.forward(x), expected)
    np.testing.assert_allclose(model.predict(x, batch_size=batch_size), expected, rtol=rtol,
                               atol=rtol)
    result = model.evaluate(x, y, batch_size=batch_size)
    loss_value, correct = model._evaluate_layers(x, y, batch_size)
    assert result["loss"] == pytest.approx(loss_value, rel=rtol)
    if loss == "softmax_cross_entropy":
        assert result["accuracy"] == correct / x.shape[0]


def test_same_seed_gives_identical_weights_whatever_the_thread_count(monkeypatch):
    monkeypatch.setattr(plan, "MIN_FLOPS_PER_THREAD", 0)
    x, y = _data("float32", "softmax_cross_entropy", rows=1000)
    results = []
    for n in (1, 2, 2, 1):
        with nnkernels.num_threads(n):
            model = _model("float32")
            model.fit(x, y, epochs=2, batch_size=50, seed=0, verbose=0)
        results.append(model.get_weights())
    for weights in results[1:]:
        for u, v in zip(weights, results[0]):
            np.testing.assert_array_equal(u, v)


def test_non_finite_loss_stops_before_the_update(threads):
    x, y = _data("float64", "softmax_cross_entropy")
    model = _model("float64", ("relu", "relu", None))
    model.compile(SGD(lr=1e150), "softmax_cross_entropy")  # weights overflow within steps
    with pytest.raises(nnkernels.NonFiniteLossError, match="batch") as error:
        model.fit(x, y, epochs=1, batch_size=BATCH, shuffle=False, verbose=0)
    batch = int(str(error.value).split("batch ")[1].split(" ")[0])
    assert model.optimizer.iterations == batch - 1 >= 1
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_plan_restores_the_callers_floating_point_state(threads):
    x, y = _data("float32", "softmax_cross_entropy")
    _model("float32").fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
    tiny = np.float32(1e-38) * np.float32(0.01)   # a denormal, unless flushed
    assert tiny != 0
    assert flushes_denormals() == (np.dtype(np.intp).itemsize == 8 and
                                   __import__("platform").machine() in ("x86_64", "AMD64"))


def test_python_threads_training_separate_models_match_one_after_the_other(monkeypatch):
    monkeypatch.setattr(plan, "MIN_FLOPS_PER_THREAD", 0)
    x, y = _data("float32", "softmax_cross_entropy", rows=800)

    def train(seed, out):
        model = _model("float32", seed=seed)
        model.fit(x, y, epochs=2, batch_size=32, seed=seed, verbose=0)
        out[seed] = model.get_weights()

    alone, together = {}, {}
    for seed in range(3):
        train(seed, alone)
    workers = [threading.Thread(target=train, args=(seed, together)) for seed in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for seed in range(3):
        for u, v in zip(together[seed], alone[seed]):
            np.testing.assert_array_equal(u, v)


def test_fit_allocates_nothing_per_step_after_the_first_chunk():
    model = nnkernels.models.mnist_classifier(seed=0)
    rng = np.random.default_rng(0)
    x = rng.random((3000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 3000)
    model.fit(x, y, epochs=1, batch_size=100, verbose=0)
    run = plan.TrainingRun(model, x, y, 100)
    run.run(None, 0, 30)
    order = np.arange(3000, dtype=np.int64)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        run.run(order, 0, 30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < 4000, peak - before


@settings(max_examples=60, deadline=None)
@given(widths=st.lists(st.integers(1, 40), min_size=2, max_size=4),
       rows=st.integers(1, 70), batch=st.integers(1, 33), threads=st.sampled_from([1, 2]),
       loss=st.sampled_from(["softmax_cross_entropy", "mse", "binary_cross_entropy"]),
       dtype=st.sampled_from(["float64", "float32"]), shuffle=st.booleans())
def test_plan_matches_layers_for_any_shape(widths, rows, batch, threads, loss, dtype, shuffle):
    activations = (["relu", "sigmoid", None] * 2)[:len(widths) - 1]
    x, y = _data(dtype, loss, widths, rows)
    saved = plan.MIN_FLOPS_PER_THREAD
    plan.MIN_FLOPS_PER_THREAD = 0
    try:
        with nnkernels.num_threads(threads):
            a = _model(dtype, activations, loss, "momentum", dims=widths)
            b = _model(dtype, activations, loss, "momentum", dims=widths)
            np.testing.assert_allclose(_plan_path(a, x, y, batch, 0, shuffle),
                                       _layer_path(b, x, y, batch, 0, shuffle),
                                       rtol=TOL[dtype] * 10)
            _assert_close(a, b, dtype)
            expected = np.empty((rows, widths[-1]), dtype)
            b.loss.output(b.forward(x), expected)
            np.testing.assert_allclose(a.predict(x, batch_size=batch), expected,
                                       rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)
    finally:
        plan.MIN_FLOPS_PER_THREAD = saved
