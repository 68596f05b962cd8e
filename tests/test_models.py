"""Sequential models and the lesson's base_cnn variants."""
import numpy as np
import pytest

from efficientnn.layers import Conv2D, Dense, Flatten, ReLU
from efficientnn.models import Sequential, base_cnn, base_cnn_pooled, base_cnn_separable


def test_base_cnn_is_the_lesson_model():
    m = base_cnn()
    assert [l.kind for l in m.layers] == ["conv", "relu", "conv", "relu", "flatten", "dense", "relu", "dense"]
    assert [l.name for l in m.layers] == ["conv1", "relu1", "conv2", "relu2", "flatten", "fc1", "relu3", "fc2"]
    assert m.layer("conv1").filters == m.layer("conv2").filters == 5
    assert m.layer("conv1").kernel_size == (3, 3)
    assert m.layer("fc1").units == 128 and m.output_shape == (10,)


def test_variants_keep_input_and_output():
    for make in (base_cnn_pooled, base_cnn_separable):
        m = make()
        assert m.input_shape == (28, 28, 1) and m.output_shape == (10,)
    assert base_cnn_separable().layer("sepconv2").output_shape == base_cnn().layer("conv2").output_shape
    assert [l.kind for l in base_cnn_pooled().layers].count("maxpool") == 2


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = base_cnn(seed=1), base_cnn(seed=1), base_cnn(seed=2)
    assert np.array_equal(a.layer("conv1").params["W"], b.layer("conv1").params["W"])
    assert not np.array_equal(a.layer("conv1").params["W"], c.layer("conv1").params["W"])


def test_forward_backward_shapes_and_predict_batches():
    m = base_cnn()
    x = np.random.default_rng(0).standard_normal((5, 28, 28, 1)).astype(np.float32)
    y = m.forward(x, training=True)
    assert y.shape == (5, 10) and y.dtype == np.float32
    assert m.backward(np.ones_like(y)).shape == x.shape
    assert np.allclose(m.predict(x, batch_size=2), m.forward(x), atol=1e-5)


def test_copy_is_independent():
    m = base_cnn()
    c = m.copy()
    c.layer("fc2").params["W"][:] = 0
    assert np.any(m.layer("fc2").params["W"] != 0)


@pytest.mark.parametrize(
    "x, message",
    [
        (np.zeros((28, 28, 1), np.float32), "use x\\[None\\]"),
        (np.zeros((2, 28, 28, 3), np.float32), r"expects input of shape \(N, 28, 28, 1\)"),
        (np.zeros((2, 784), np.float32), r"expects input of shape"),
        (np.array([["a"]]), "must hold numbers"),
    ],
)
def test_bad_model_input_is_explained(x, message):
    with pytest.raises(ValueError, match=message):
        base_cnn().forward(x)


def test_layers_that_do_not_fit_name_the_layer():
    with pytest.raises(ValueError, match="layer conv2 cannot take input of shape"):
        Sequential([Conv2D(2, 3), Conv2D(2, 5)], input_shape=(6, 6, 1))
    with pytest.raises(ValueError, match="Flatten"):
        Sequential([Conv2D(2, 3), ReLU(), Dense(3)], input_shape=(6, 6, 1))
    with pytest.raises(ValueError, match="efficientnn layer"):
        Sequential([Conv2D(2, 3), "relu"], input_shape=(6, 6, 1))
    with pytest.raises(ValueError, match="unique"):
        Sequential([Conv2D(2, 3, name="a"), Flatten(name="a")], input_shape=(6, 6, 1))


def test_unknown_layer_name_lists_the_names():
    with pytest.raises(ValueError, match="conv1"):
        base_cnn().layer("conv9")
