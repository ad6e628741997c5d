"""Sequential.fit / evaluate / predict, callbacks, and what bad input gets."""
import csv
import os
import signal

import numpy as np
import pytest

import nnkernels
from nnkernels import Dense, RMSProp, Sequential, callbacks


def _blobs(n=600, seed=0, dtype=np.float32):
    """Three well-separated Gaussian blobs in 8-D: an easy classification task."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = rng.standard_normal((3, 8)) * 4
    return (centers[y] + rng.standard_normal((n, 8))).astype(dtype), y


def _classifier(seed=0, lr=1e-2, dtype="float32"):
    model = Sequential([Dense(8, 16, "relu", dtype=dtype, seed=seed),
                        Dense(16, 3, None, dtype=dtype, seed=seed + 1)])
    return model.compile(nnkernels.RMSProp(lr=lr), "softmax_cross_entropy")


def test_fit_learns_and_history_records_each_epoch():
    x, y = _blobs()
    model = _classifier()
    history = model.fit(x, y, epochs=5, batch_size=32, validation_data=_blobs(200, 1),
                        seed=0, verbose=0)
    assert history.epoch == [0, 1, 2, 3, 4]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "samples_per_second", "lr"):
        assert len(history.history[key]) == 5, key
    assert history.history["loss"][-1] < history.history["loss"][0]
    result = model.evaluate(x, y)
    assert result["accuracy"] > 0.95
    proba = model.predict(x[:10])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(model.predict_classes(x[:10]), proba.argmax(axis=1))


def test_fixed_seed_trains_to_identical_weights():
    x, y = _blobs()
    weights = []
    for _ in range(2):
        model = _classifier(seed=3)
        model.fit(x, y, epochs=2, batch_size=50, seed=11, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_evaluate_matches_numpy_loss():
    x, y = _blobs(250)
    model = _classifier()
    z = x.astype(np.float64)
    for layer in model.layers:
        z = z @ layer.weight.data + layer.bias.data
        z = np.maximum(z, 0) if layer.activation == "relu" else z
    log_p = z - z.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    result = model.evaluate(x, y, batch_size=64)
    assert result["loss"] == pytest.approx(-log_p[np.arange(250), y].mean(), rel=1e-5)
    assert result["accuracy"] == np.mean(z.argmax(1) == y)


def test_autoencoder_style_mse_training():
    rng = np.random.default_rng(0)
    x = rng.random((300, 12)).astype(np.float32)
    model = Sequential([Dense(12, 4, "relu", seed=0), Dense(4, 12, "sigmoid", seed=1)])
    model.compile(nnkernels.Adam(lr=1e-2), "mse")
    history = model.fit(x, x, epochs=5, batch_size=30, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert "accuracy" not in history.history
    pred = model.predict(x, batch_size=64)
    np.testing.assert_array_equal(pred, np.concatenate(
        [model.forward(np.ascontiguousarray(x[i:i + 64])).copy() for i in range(0, 300, 64)]))


def test_progress_output_has_one_line_per_epoch(capsys):
    x, y = _blobs(100)
    _classifier().fit(x, y, epochs=3, batch_size=25, verbose=1)
    lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith("Epoch")]
    assert len(lines) == 3 and "samples_per_second" in lines[0] and "accuracy" in lines[0]


def test_csv_logger_writes_every_epoch(tmp_path):
    x, y = _blobs(100)
    path = tmp_path / "history.csv"
    _classifier().fit(x, y, epochs=3, batch_size=25, verbose=0,
                      callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.DictReader(path.open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert float(rows[2]["loss"]) < float(rows[0]["loss"])
    assert os.listdir(tmp_path) == ["history.csv"]  # no temporary file left


class _WeightsPerEpoch(callbacks.Callback):
    def __init__(self):
        self.weights = []

    def on_epoch_end(self, epoch, logs):
        self.weights.append([w.copy() for w in self.model.get_weights()])


@pytest.mark.parametrize("restore", [True, False])
def test_early_stopping_stops_and_restores_best(restore):
    x, y = _blobs()
    model = _classifier(lr=1e-2)
    # Only the first epoch can count as an improvement (min_delta 10): it is the best,
    # and patience 0 stops training after the second.
    stopper = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0,
                                      restore_best_weights=restore)
    seen = _WeightsPerEpoch()
    history = model.fit(x, y, epochs=10, batch_size=50, verbose=0,
                        callbacks=[seen, stopper])
    assert len(history.epoch) == 2 and stopper.stopped_epoch == 1
    assert stopper.best_epoch == 0 and stopper.best == history.history["loss"][0]
    kept = seen.weights[0] if restore else seen.weights[1]
    assert not all(np.array_equal(a, b) for a, b in zip(seen.weights[0], seen.weights[1]))
    for got, want in zip(model.get_weights(), kept):
        np.testing.assert_array_equal(got, want)


def test_learning_rate_schedule_is_applied():
    x, y = _blobs(100)
    model = _classifier(lr=0.1)
    sched = callbacks.LearningRateScheduler(callbacks.step_decay(0.1, factor=0.5, every=1))
    history = model.fit(x, y, epochs=3, batch_size=50, verbose=0, callbacks=[sched])
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    cos = callbacks.cosine_decay(1.0, 5, 0.0)
    assert [round(cos(e, None), 6) for e in (0, 2, 4)] == [1.0, 0.5, 0.0]


def test_diverging_learning_rate_raises_naming_the_batch():
    x, y = _blobs()
    model = Sequential([Dense(8, 16, "relu", seed=0), Dense(16, 3, None, seed=1)])
    model.compile(nnkernels.SGD(lr=1e6), "softmax_cross_entropy")
    with pytest.raises(nnkernels.NonFiniteLossError,
                       match=r"loss became (nan|inf) at epoch 1, batch \d+ of 12 "
                             r"\(learning rate 1e\+06\)"):
        model.fit(x * 100, y, epochs=3, batch_size=50, verbose=0)


def test_ctrl_c_stops_cleanly_and_leaves_model_usable(capsys):
    x, y = _blobs()

    class PressCtrlC(callbacks.Callback):
        def on_batch_end(self, batch, logs):
            if batch == 2:
                os.kill(os.getpid(), signal.SIGINT)

    model = _classifier()
    history = model.fit(x, y, epochs=5, batch_size=50, verbose=0, callbacks=[PressCtrlC()])
    assert history.interrupted and history.epoch == []
    # The plan had run its first chunk (training.FIRST_CHUNK = 4 steps) when the
    # callbacks saw batch 2: the message counts the steps the weights hold.
    assert model.optimizer.iterations == 4
    assert "Interrupted (Ctrl-C) at epoch 1/5, batch 4/12: 200 samples" in capsys.readouterr().err
    assert np.all(np.isfinite(model.predict(x)))
    assert model.fit(x, y, epochs=1, batch_size=50, verbose=0).epoch == [0]


def test_float64_model_and_integer_input_conversion():
    x, y = _blobs(dtype=np.float64)
    model = _classifier(dtype="float64")
    model.fit((x * 10).astype(np.int32), y.astype(np.uint8), epochs=1, verbose=0)
    assert model.predict(x).dtype == np.float64


# -- bad input, one test per case -------------------------------------------------


def test_fit_wrong_feature_count():
    with pytest.raises(ValueError, match=r"fit: 'x' must have shape \(n_samples, 8\); "
                                         r"got \(10, 7\)"):
        _classifier().fit(np.zeros((10, 7), np.float32), np.zeros(10, int), verbose=0)


def test_fit_wrong_label_count():
    with pytest.raises(ValueError, match=r"'y' must have shape \(10,\) to match x; got \(9,\)"):
        _classifier().fit(np.zeros((10, 8)), np.zeros(9, int), verbose=0)


def test_fit_labels_out_of_range():
    y = np.zeros(10, int)
    y[4] = 3
    with pytest.raises(ValueError, match=r"'y'\[4\] = 3 is outside \[0, 3\)"):
        _classifier().fit(np.zeros((10, 8)), y, verbose=0)


def test_fit_float_labels_rejected():
    with pytest.raises(TypeError, match=r"'y' must hold integer class labels; got dtype "
                                        r"float64"):
        _classifier().fit(np.zeros((10, 8)), np.zeros(10), verbose=0)


def test_fit_string_input_rejected():
    with pytest.raises(TypeError, match=r"'x' must hold numbers; got dtype <U1"):
        _classifier().fit(np.full((10, 8), "a"), np.zeros(10, int), verbose=0)


def test_fit_empty_dataset():
    with pytest.raises(ValueError, match=r"fit: 'x' is empty \(shape \(0, 8\)\)"):
        _classifier().fit(np.zeros((0, 8)), np.zeros(0, int), verbose=0)


def test_fit_nan_input():
    x = np.zeros((10, 8))
    x[3, 5] = np.nan
    with pytest.raises(ValueError, match=r"'x' has a non-finite value nan at \(3, 5\)"):
        _classifier().fit(x, np.zeros(10, int), verbose=0)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_predict_infinite_input(value):
    x = np.zeros((4, 8), np.float32)
    x[2, 0] = value
    with pytest.raises(ValueError, match=rf"'x' has a non-finite value {value} at \(2, 0\)"):
        _classifier().predict(x)


def test_huge_finite_input_is_accepted():
    # Row sums overflow float32 here (the quick finiteness test's false alarm): the
    # elementwise re-check must accept the input.
    x = np.full((3, 8), 3e38, np.float32)
    x[1] = -3e38
    out = _classifier().predict(x)  # no ValueError
    assert out.shape[0] == 3


def test_fit_bad_epochs_and_batch_size():
    with pytest.raises(ValueError, match=r"'epochs' must be an int >= 1; got 0"):
        _classifier().fit(np.zeros((10, 8)), np.zeros(10, int), epochs=0)
    with pytest.raises(ValueError, match=r"'batch_size' must be an int >= 1; got 2.5"):
        _classifier().fit(np.zeros((10, 8)), np.zeros(10, int), batch_size=2.5)


def test_fit_mse_target_shape():
    model = Sequential([Dense(8, 4, "sigmoid")]).compile("adam", "mse")
    with pytest.raises(ValueError, match=r"'y' must have shape \(10, 4\) to match x and the "
                                         r"output layer; got \(10, 3\)"):
        model.fit(np.zeros((10, 8)), np.zeros((10, 3)), verbose=0)


def test_fit_before_compile():
    with pytest.raises(RuntimeError, match=r"call compile\(optimizer, loss\) first"):
        Sequential([Dense(8, 3)]).fit(np.zeros((4, 8)), np.zeros(4, int))


@pytest.mark.parametrize("make,match", [
    (lambda: nnkernels.RMSProp(lr=-0.1), r"RMSProp: 'lr' must be in \[0, inf\); got -0.1"),
    (lambda: nnkernels.RMSProp(rho=1.5), r"'rho' must be in \[0, 1\); got 1.5"),
    (lambda: nnkernels.RMSProp(epsilon="middle"), r"epsilon must be 'outside'.*got 'middle'"),
    (lambda: nnkernels.SGD(momentum=-1), r"'momentum' must be in \[0, 1\); got -1.0"),
    (lambda: nnkernels.SGD(nesterov=True), r"nesterov=True needs momentum > 0"),
    (lambda: nnkernels.Adam(beta2=1.0), r"'beta2' must be in \[0, 1\); got 1.0"),
])
def test_bad_hyperparameters_raise_quoting_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_autoencoder_fit_with_targets_the_inputs():
    # fit(x, x) keeps one array for inputs and targets (one conversion, one gather per
    # batch) and trains exactly as with a separate copy of the targets.
    rng = np.random.default_rng(0)
    x = rng.random((64, 6))  # float64: converted to the model's float32

    def model():
        m = Sequential([Dense(6, 3, activation="relu", seed=1), Dense(3, 6, seed=2)])
        return m.compile(RMSProp(lr=1e-2), "mse")

    shared, separate = model(), model()
    h1 = shared.fit(x, x, epochs=3, batch_size=16, seed=0, verbose=0)
    h2 = separate.fit(x, x.copy(), epochs=3, batch_size=16, seed=0, verbose=0)
    assert h1.history["loss"] == h2.history["loss"]
    for a, b in zip(shared.get_weights(), separate.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_targets_the_inputs_still_checks_the_output_width():
    x = np.zeros((10, 8), np.float32)
    m = Sequential([Dense(8, 3, seed=0)]).compile(RMSProp(), "mse")
    with pytest.raises(ValueError, match=r"'y' must have shape \(10, 3\)"):
        m.fit(x, x, verbose=0)
