"""Checkpoints and resume: a fit stopped after k epochs (or in the middle of one) and
resumed from its ModelCheckpoint ends with the bits of the uninterrupted fit:
weights, optimizer state, learning-rate schedule and shuffling order."""
import os
import signal

import numpy as np
import pytest

import nnkernels
from nnkernels import callbacks, training
from nnkernels.checkpoints import ModelCheckpoint, resume_arguments
from nnkernels.layers import Dense

EPOCHS = 4


def _data():
    rng = np.random.default_rng(5)
    x = rng.random((530, 40)).astype(np.float32)
    y = (x[:, :4].argmax(axis=1) + (x[:, 4] > 0.5)) % 4
    return x, y


def _model(optimizer):
    rng = np.random.default_rng(11)
    layers = [Dense(40, 32, "relu", seed=rng), Dense(32, 4, None, seed=rng)]
    return nnkernels.Sequential(layers).compile(optimizer, "softmax_cross_entropy")


OPTIMIZERS = {
    "rmsprop": lambda: nnkernels.RMSProp(lr=2e-3, weight_decay=1e-4),
    "adam": lambda: nnkernels.Adam(lr=2e-3),
    "sgd": lambda: nnkernels.SGD(lr=0.05, momentum=0.9, nesterov=True),
}


def _schedule():
    return callbacks.LearningRateScheduler(callbacks.cosine_decay(2e-3, EPOCHS, 2e-5))


def _state(model):
    opt = model.optimizer
    return model.get_weights() + [s[k] for s in opt.state for k in opt.state_names] + [
        np.array([opt.iterations, opt.lr])]


def _assert_same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.dtype == v.dtype and np.array_equal(u, v)


class _StopAfter(callbacks.Callback):
    """Stop like a user would: after `epochs` epochs (stop_training), or by a signal
    sent to this process after batch `batch` of epoch `epochs`."""

    def __init__(self, epochs, batch=None, signum=signal.SIGINT):
        self.epochs, self.batch, self.signum, self.epoch = epochs, batch, signum, 0

    def on_epoch_begin(self, epoch, logs):
        self.epoch = epoch

    def on_batch_end(self, batch, logs):
        if self.batch is not None and (self.epoch, batch) == (self.epochs, self.batch):
            os.kill(os.getpid(), self.signum)

    def on_epoch_end(self, epoch, logs):
        if self.batch is None and epoch + 1 == self.epochs:
            self.model.stop_training = True


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("stop", ["after-2-epochs", "mid-epoch-sigint", "mid-epoch-sigterm"])
def test_resume_continues_bit_for_bit(tmp_path, optimizer, stop, monkeypatch):
    x, y = _data()
    val = (x[:50], y[:50])
    whole = _model(OPTIMIZERS[optimizer]())
    full = whole.fit(x, y, epochs=EPOCHS, batch_size=32, seed=3, verbose=0,
                     validation_data=val, callbacks=[_schedule()])

    stopper = {"after-2-epochs": _StopAfter(2),
               "mid-epoch-sigint": _StopAfter(1, batch=6),
               "mid-epoch-sigterm": _StopAfter(2, batch=9, signum=signal.SIGTERM)}[stop]
    path = tmp_path / "checkpoint.safetensors"
    first = _model(OPTIMIZERS[optimizer]())
    # One step per call of the plan, so that a signal stops it inside an epoch (the
    # uninterrupted and the resumed fit run whole epochs per call: same bits).
    monkeypatch.setattr(training, "CHUNK_SECONDS", 1e-12)
    part = first.fit(x, y, epochs=EPOCHS, batch_size=32, seed=3, verbose=0,
                     validation_data=val,
                     callbacks=[_schedule(), ModelCheckpoint(path, every=1), stopper])
    assert part.interrupted == (stop != "after-2-epochs")
    assert len(part.epoch) < EPOCHS
    monkeypatch.undo()

    resumed, meta = nnkernels.load(path, with_metadata=True)
    _assert_same(_state(resumed), _state(first))  # the file holds the last completed step
    args = resume_arguments(meta)
    assert args["initial_epoch"] == len(part.epoch)
    assert (args["initial_step"] > 0) == (stop != "after-2-epochs")
    rest = resumed.fit(x, y, **args, verbose=0, validation_data=val,
                       callbacks=[_schedule(), ModelCheckpoint(path, history=meta["history"])])
    _assert_same(_state(resumed), _state(whole))
    assert rest.epoch == list(range(args["initial_epoch"], EPOCHS))
    # the epochs after the interrupted one log exactly what the uninterrupted fit logged
    for key in ("val_loss", "lr"):
        assert rest.history[key][1:] == full.history[key][args["initial_epoch"] + 1:]
    final = nnkernels.load(path, with_metadata=True)[1]
    assert final["checkpoint"]["epochs_completed"] == EPOCHS
    assert final["history"]["val_loss"][-1] == full.history["val_loss"][-1]
    assert len(final["history"]["val_loss"]) == EPOCHS


def test_checkpoint_every_n_epochs_and_resume_arguments(tmp_path):
    x, y = _data()
    model = _model(nnkernels.RMSProp())
    saved = []

    class Spy(callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            saved.append(nnkernels.load(tmp_path / "c.nnk", with_metadata=True)[1]
                         ["checkpoint"]["epochs_completed"] if (tmp_path / "c.nnk").exists()
                         else None)

    model.fit(x, y, epochs=5, batch_size=100, seed=1, verbose=0,
              callbacks=[ModelCheckpoint(tmp_path / "c.nnk", every=2), Spy()])
    assert saved == [None, 2, 2, 4, 4]
    meta = nnkernels.load(tmp_path / "c.nnk", with_metadata=True)[1]
    assert resume_arguments(meta) == {"epochs": 5, "batch_size": 100, "seed": 1,
                                      "shuffle": True, "initial_epoch": 4,
                                      "initial_step": 0}
    with pytest.raises(ValueError, match="not a ModelCheckpoint"):
        resume_arguments({})
    with pytest.raises(ValueError, match="'every' must be an int >= 1; got 0"):
        ModelCheckpoint(tmp_path / "c.nnk", every=0)
    with pytest.raises(ValueError, match=r"'initial_step' must be at most 6"):
        model.fit(x, y, batch_size=100, initial_step=7, verbose=0)


def test_save_and_load_caller_metadata(tmp_path):
    model = _model(nnkernels.SGD())
    nnkernels.save(model, tmp_path / "m.nnk", metadata={"run": "a", "step": [1, 2]})
    loaded, meta = nnkernels.load(tmp_path / "m.nnk", with_metadata=True)
    assert meta == {"run": "a", "step": [1, 2]}
    nnkernels.save(model, tmp_path / "n.nnk")
    assert nnkernels.load(tmp_path / "n.nnk", with_metadata=True)[1] == {}
    with pytest.raises(TypeError, match="'metadata' must be a dict"):
        nnkernels.save(model, tmp_path / "o.nnk", metadata=[1])
    with pytest.raises(ValueError):
        nnkernels.save(model, tmp_path / "o.nnk", metadata={"x": float("nan")})
    assert not (tmp_path / "o.nnk").exists()


def test_csv_logger_appends_to_the_rows_before_the_resumed_epoch(tmp_path):
    x, y = _data()
    path = tmp_path / "h.csv"
    model = _model(nnkernels.RMSProp())
    model.fit(x, y, epochs=3, batch_size=100, seed=1, verbose=0,
              callbacks=[callbacks.CSVLogger(path)])
    model.fit(x, y, epochs=4, batch_size=100, seed=1, verbose=0, initial_epoch=2,
              callbacks=[callbacks.CSVLogger(path, append=True)])
    lines = path.read_text().splitlines()
    assert [line.split(",")[0] for line in lines] == ["epoch", "1", "2", "3", "4"]


def _digits(n, seed):
    rng = np.random.default_rng(seed)
    return rng.random((n, 784)).astype(np.float32), rng.integers(0, 10, n)


def test_train_mnist_resumes_from_its_checkpoint(tmp_path):
    arrays = (_digits(700, 0), _digits(100, 1))
    settings = dict(arrays=arrays, seed=4, epochs=3, batch_size=50, verbose=0,
                    lr_schedule="cosine", optimizer="adam")
    whole, whole_history, _ = nnkernels.models.train_mnist("classifier", **settings)
    path = tmp_path / "checkpoint.safetensors"
    nnkernels.models.train_mnist("classifier", checkpoint=path, **settings,
                                 callbacks=[_StopAfter(1)])
    assert nnkernels.load(path, with_metadata=True)[1]["checkpoint"]["epochs_completed"] == 1
    with pytest.raises(ValueError, match=r"trained with lr=0.002; got lr=0.01"):
        nnkernels.models.train_mnist("classifier", arrays=arrays, resume=path, lr=0.01)
    with pytest.raises(ValueError, match=r"not a checkpoint of train_mnist's autoencoder"):
        nnkernels.models.train_mnist("autoencoder", arrays=arrays, resume=path)
    with pytest.raises(ValueError, match=r"trained on 630 images; this data set gives 540"):
        nnkernels.models.train_mnist("classifier", arrays=(_digits(600, 0), arrays[1]),
                                     resume=path)
    resumed, history, results = nnkernels.models.train_mnist(
        "classifier", arrays=arrays, resume=path, checkpoint=path, verbose=0)
    _assert_same(_state(resumed), _state(whole))
    assert results["resumed_from_epoch"] == 1 and results["seed"] == 4
    assert history.epoch == [0, 1, 2]
    assert history.history["val_loss"] == whole_history.history["val_loss"]
    assert resumed.metadata["history"]["val_loss"] == whole.metadata["history"]["val_loss"]


def test_the_python_example_of_docs_robustness_runs(tmp_path, monkeypatch):
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "docs" / "robustness.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/robustness.md", "exec"), namespace)
    assert namespace["model"].optimizer.iterations == 6 * 6  # 600 rows, batch 100
