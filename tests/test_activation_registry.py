"""The activation registry (nnkernels.activations): each record's kernels against a NumPy
float64 reference written from the pre-activation, its names in the other worlds
round trip, and unknown names raise naming the argument and the value."""
import numpy as np
import pytest

import nnkernels
from nnkernels import Dense, activations
from nnkernels._plan import Plan
from conftest import tolerance


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # overflow-free


# Keyed by Keras name: the function and its derivative, both of z = x + bias.
REFERENCE = {
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(np.float64)),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
}


def test_the_registry_holds_identity_relu_and_sigmoid():
    assert activations.NAMES == (None, "relu", "sigmoid")
    assert sorted(a.keras for a in activations.ACTIVATIONS.values()) == sorted(REFERENCE)
    assert len({a.code for a in activations.ACTIVATIONS.values()}) == 3


@pytest.mark.parametrize("record", activations.ACTIVATIONS.values(), ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_match_numpy_float64(record, dtype):
    f, df = REFERENCE[record.keras]
    rng = np.random.default_rng(7)
    x = rng.uniform(-4, 4, (13, 9))
    bias = rng.uniform(-1, 1, 9)
    z = x + bias
    z[np.abs(z) < 1e-3] = 0.5  # away from ReLU's kink
    x = z - bias
    tol = tolerance(np.dtype(dtype))
    y = record.forward(x.astype(dtype), bias.astype(dtype))
    np.testing.assert_allclose(y, f(z), rtol=tol["rtol"], atol=tol["atol"] * 10)
    dy = rng.standard_normal(z.shape)
    expected = dy * df(z)
    if record.backward is None:  # the identity: dz is dy, the bias gradient its sum
        assert record.name is None
        dbias = nnkernels.kernels.bias_backward(dy.astype(dtype))
        dz = dy
    else:
        dz, dbias = record.backward(dy.astype(dtype), y)
    np.testing.assert_allclose(dz, expected, rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)
    np.testing.assert_allclose(dbias, expected.sum(axis=0), rtol=tol["rtol"] * 10,
                               atol=tol["atol"] * 100)


@pytest.mark.parametrize("record", activations.ACTIVATIONS.values(), ids=repr)
def test_names_round_trip(record):
    assert activations.get(record.name) is record
    assert activations.get(record) is record
    assert activations.from_keras(record.keras) is record
    assert activations.from_sklearn(record.sklearn) is record
    assert activations.from_text(record.keras.upper()) is record
    for alias in record.aliases:
        assert activations.from_text(alias) is record
    if record.onnx is not None:
        assert activations.from_onnx_op(record.onnx) is record
    if record.torch is not None:
        assert activations.from_torch(record.torch) is record
    # the identity alone has no ONNX node and no torch module after its layer
    assert (record.onnx is None) == (record.torch is None) == (record.name is None)
    layer = Dense(3, 2, activation=record.name)
    assert layer.activation == record.name and layer._forward is record.forward
    assert Dense(3, 2, activation=record).activation == record.name


@pytest.mark.parametrize("lookup,value,argument", [
    (activations.get, "tanh", "activation"),
    (activations.get, "Relu", "activation"),
    (activations.get, ["relu"], "activation"),
    (activations.from_onnx_op, "Tanh", "op_type"),
    (activations.from_onnx_op, None, "op_type"),
    (activations.from_keras, "softmax", "activation"),
    (activations.from_torch, "Tanh", "module"),
    (activations.from_sklearn, "tanh", "activation"),
    (activations.from_sklearn, "sigmoid", "activation"),
    (activations.from_text, "elu", "activations"),
])
def test_unknown_names_raise_naming_argument_and_value(lookup, value, argument):
    with pytest.raises(ValueError) as error:
        lookup(value)
    message = str(error.value)
    assert message.startswith(f"{argument} must be one of ")
    assert message.endswith(f"got {value!r}")


def test_callers_name_their_argument():
    with pytest.raises(ValueError, match=r"^Dense: activation must be one of "
                                         r"\(None, 'relu', 'sigmoid'\); got 'tanh'$"):
        Dense(3, 2, activation="tanh")
    with pytest.raises(ValueError, match=r"^layer 2 activation must be one of"):
        activations.get("gelu", "layer 2 activation")


def test_the_plan_takes_the_codes_and_refuses_others():
    params = np.zeros(3 * 2 + 2, np.float32)
    for record in activations.ACTIVATIONS.values():
        Plan([3, 2], [record.code], None, 4, 1, params)
    code = max(a.code for a in activations.ACTIVATIONS.values()) + 1
    with pytest.raises(ValueError, match=rf"activations\[0\] must be one of .*got {code}"):
        Plan([3, 2], [code], None, 4, 1, params)
