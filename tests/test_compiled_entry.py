"""plan.why_not_compiled, the one entry that decides how a model runs: building blocks
say themselves whether the compiled step computes them, so a subclass that keeps the
maths runs compiled and one that changes it runs layer by layer, saying why."""
import numpy as np
import pytest

from nnkernels import RMSProp, Dense, Sequential, losses, plan


class NamedDense(Dense):
    """A subclass that changes nothing of the maths (a name for the summary)."""

    def __repr__(self):
        return f"NamedDense({self.in_features}, {self.out_features})"


class ScaledDense(Dense):
    def forward(self, x):
        return super().forward(x) * 1.0


class LoudRMSProp(RMSProp):
    def _update(self, p, g, s):
        super()._update(p, g, s)


class LabelSmoothing(losses.SoftmaxCrossEntropy):
    def forward(self, logits, labels):
        return super().forward(logits, labels)


class Identity:
    """A layer of the user's own, without a compiled form."""
    in_features = out_features = 5
    dtype = np.dtype(np.float32)

    def parameters(self):
        return []

    def forward(self, x):
        return x

    def backward(self, dy, need_input_grad=True):
        return dy


def _model(layer=Dense, optimizer=RMSProp, loss="softmax_cross_entropy"):
    model = Sequential([layer(6, 5, "relu", seed=0), layer(5, 3, None, seed=1)])
    model.compile(optimizer(lr=1e-2), loss)
    return model


def _fit(model):
    rng = np.random.default_rng(0)
    x, y = rng.random((90, 6), dtype=np.float32), rng.integers(0, 3, 90)
    model.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0)
    return model.get_weights(), model.evaluate(x, y)


def test_a_dense_subclass_that_keeps_the_maths_runs_compiled_with_the_same_bits():
    assert plan.why_not_compiled(_model(NamedDense)) is None
    plain, subclass = _fit(_model()), _fit(_model(NamedDense))
    for u, v in zip(plain[0], subclass[0]):
        np.testing.assert_array_equal(u, v)
    assert plain[1] == subclass[1]


@pytest.mark.parametrize("make, words", [
    (lambda: _model(ScaledDense), "layer 0: ScaledDense redefines Dense.forward"),
    (lambda: _model(optimizer=LoudRMSProp), "LoudRMSProp redefines RMSProp._update"),
    (lambda: _model(loss=LabelSmoothing()),
     "LabelSmoothing redefines SoftmaxCrossEntropy.forward"),
])
def test_a_subclass_that_changes_the_maths_runs_layer_by_layer_and_says_why(make, words):
    model = make()
    assert plan.why_not_compiled(model) == words
    assert not plan.uses_plan(model)
    weights, scores = _fit(model)                 # trains all the same, layer by layer
    compiled_weights, compiled_scores = _fit(_model())
    for u, v in zip(weights, compiled_weights):
        np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)
    assert scores["accuracy"] == compiled_scores["accuracy"]


def test_a_layer_without_a_compiled_form_is_named():
    model = Sequential([Dense(6, 5), Identity(), Dense(5, 3, None)])
    model.compile(RMSProp(), "softmax_cross_entropy")
    assert plan.why_not_compiled(model) == "layer 1: the layer Identity has no compiled form"


def test_an_optimizer_over_other_parameters_is_named():
    model = _model()
    model.optimizer.params = model.optimizer.params[:2]
    assert plan.why_not_compiled(model) == "the optimizer updates other parameters than the model's"
    assert plan.why_not_compiled(model, training=False) is None


def test_correct_counts_the_rows_whose_top_output_is_the_label():
    loss = losses.SoftmaxCrossEntropy()
    out = np.array([[0.1, 0.9, 0.0], [2.0, 1.0, 0.5], [0.0, 0.0, 3.0]], np.float32)
    assert loss.correct(out, np.array([1, 1, 2])) == 2
    assert loss.correct(out[:1], np.array([0])) == 0
    assert losses.MeanSquaredError().correct(out, out) == 0
