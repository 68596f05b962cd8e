"""efficientnn.train: loss, optimizers, fit, accuracy, masks; base_cnn learns the digits."""

import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from efficientnn.data import load_digits, random_shift
from efficientnn.layers import Dense, ReLU
from efficientnn.models import Sequential, base_cnn
from efficientnn.train import SGD, Adam, History, accuracy, apply_masks, fit, softmax_cross_entropy


@pytest.fixture(autouse=True)
def one_blas_thread():
    # These matrices are small: on a CPU shared with other jobs, OpenBLAS's threads mostly
    # wait on each other (an epoch took 3-7 s instead of 0.45 s). One thread gives the same
    # numbers, quickly. benchmarks/bench_train.py measures both.
    with threadpool_limits(1, user_api="blas"):
        yield


# --------------------------------------------------------------------------- loss
def _direct_cross_entropy(logits, labels):
    """The textbook formula, -mean(log(exp(z_y) / sum_k exp(z_k))), in float64 without tricks."""
    e = np.exp(np.asarray(logits, dtype=np.float64))
    p = e / e.sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(labels)), labels]))


def test_softmax_cross_entropy_matches_the_direct_formula():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(7, 10)) * 3
    labels = rng.integers(0, 10, 7)
    loss, dlogits = softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(_direct_cross_entropy(logits, labels), rel=1e-12)
    assert dlogits.shape == logits.shape and dlogits.dtype == np.float32


def test_softmax_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 5))
    labels = rng.integers(0, 5, 4)
    _, dlogits = softmax_cross_entropy(logits, labels)
    eps = 1e-6
    numeric = np.zeros_like(logits)
    for idx in np.ndindex(*logits.shape):
        up, down = logits.copy(), logits.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (_direct_cross_entropy(up, labels) - _direct_cross_entropy(down, labels)) / (2 * eps)
    np.testing.assert_allclose(dlogits, numeric, atol=1e-6)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(3, 4))
    labels = np.array([0, 3, 1])
    # Adding a constant to a row leaves softmax unchanged; exp(1000) itself would overflow.
    loss, d = softmax_cross_entropy(logits, labels)
    loss_big, d_big = softmax_cross_entropy(logits + 1000.0, labels)
    assert np.isfinite(loss_big) and loss_big == pytest.approx(loss, abs=1e-9)
    np.testing.assert_allclose(d_big, d, atol=1e-7)


@pytest.mark.parametrize(
    "logits, labels",
    [
        (np.zeros((2, 3)), np.array([0, 3])),  # label outside 0..K-1
        (np.zeros((2, 3)), np.array([0, 1, 2])),  # one label too many
        (np.zeros((2, 3)), np.array([0.0, 1.0])),  # float labels
        (np.zeros(3), np.array([0])),  # logits not 2-D
        (np.zeros((2, 3)), np.array([-1, 0])),
    ],
)
def test_softmax_cross_entropy_rejects_bad_input(logits, labels):
    with pytest.raises(ValueError):
        softmax_cross_entropy(logits, labels)


# --------------------------------------------------------------------------- accuracy
class _FixedLogits:
    def __init__(self, logits):
        self.logits = logits

    def predict(self, x, batch_size=256):
        return self.logits[: len(x)]


def test_accuracy_is_the_share_of_argmax_hits():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(50, 10))
    labels = rng.integers(0, 10, 50)
    expected = sum(int(np.argmax(row) == y) for row, y in zip(logits, labels)) / 50
    assert accuracy(_FixedLogits(logits), np.zeros((50, 1)), labels) == expected


# --------------------------------------------------------------------------- optimizers
def _tiny_model(seed=0):
    return Sequential([Dense(4), ReLU(), Dense(3)], input_shape=(5,), seed=seed)


def _gradients(model, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 5)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    _, d = softmax_cross_entropy(model.forward(x, training=True), y)
    model.backward(d)
    return {(l.name, k): l.grads[k].astype(np.float64) for l, k in model.parameters()}


def _params(model):
    return {(l.name, k): l.params[k].astype(np.float64) for l, k in model.parameters()}


def test_sgd_with_momentum_follows_its_update_rule():
    model, opt = _tiny_model(), SGD(lr=0.1, momentum=0.9)
    p = _params(model)
    velocity = {k: np.zeros_like(v) for k, v in p.items()}
    for step in range(3):
        g = _gradients(model, seed=step)
        opt.step(model)
        for k in p:
            velocity[k] = 0.9 * velocity[k] + g[k]
            p[k] = p[k] - 0.1 * velocity[k]
    for k, v in _params(model).items():
        np.testing.assert_allclose(v, p[k], rtol=1e-5, atol=1e-6)


def test_adam_follows_its_update_rule():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    model, opt = _tiny_model(), Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    p = _params(model)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    for t in range(1, 4):
        g = _gradients(model, seed=t)
        opt.step(model)
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            m_hat, v_hat = m[k] / (1 - b1**t), v[k] / (1 - b2**t)
            p[k] = p[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    for k, x in _params(model).items():
        np.testing.assert_allclose(x, p[k], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [lambda: SGD(lr=0), lambda: SGD(momentum=1.0), lambda: Adam(lr=-1), lambda: Adam(beta2=1)])
def test_optimizers_reject_bad_hyperparameters(make):
    with pytest.raises(ValueError):
        make()


# --------------------------------------------------------------------------- masks
def _digits_subset(n=256):
    x_train, y_train, _, _ = load_digits()
    return x_train[:n], y_train[:n]


@pytest.mark.parametrize("optimizer", [lambda: SGD(lr=0.01, momentum=0.9), lambda: Adam(lr=1e-3)])
def test_masked_weights_stay_zero_through_training(optimizer):
    x, y = _digits_subset()
    model = base_cnn()
    rng = np.random.default_rng(0)
    masks = {}
    for name in ("conv1", "conv2", "fc1"):
        layer = model.layer(name)
        layer.masks["W"] = rng.random(layer.params["W"].shape) > 0.5
        masks[name] = layer.masks["W"].copy()
    before = {name: model.layer(name).params["W"].copy() for name in masks}

    fit(model, x, y, epochs=2, batch_size=32, optimizer=optimizer(), progress=False)

    for name, mask in masks.items():
        w = model.layer(name).params["W"]
        assert np.all(w[~mask] == 0), f"{name}: a pruned weight came back"
        assert not np.allclose(w[mask], before[name][mask]), f"{name}: kept weights did not train"


def test_apply_masks_rejects_a_mask_of_the_wrong_shape():
    model = _tiny_model()
    model.layer("fc1").masks["W"] = np.ones((2, 2), bool)
    with pytest.raises(ValueError, match="shape"):
        apply_masks(model)


# --------------------------------------------------------------------------- fit
def test_fit_records_one_history_entry_per_epoch_and_is_quiet(capsys):
    x, y = _digits_subset(128)
    history = fit(base_cnn(), x, y, epochs=3, batch_size=64, x_val=x[:32], y_val=y[:32], progress=False)
    assert isinstance(history, History)
    assert history.epochs == 3
    for series in (history.loss, history.acc, history.val_loss, history.val_acc, history.seconds):
        assert len(series) == 3
    assert all(0.0 <= a <= 1.0 for a in history.acc + history.val_acc)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_fit_lowers_the_training_loss():
    x, y = _digits_subset(256)
    history = fit(base_cnn(), x, y, epochs=4, batch_size=32, progress=False)
    assert history.loss[-1] < history.loss[0]


def test_fit_is_reproducible_with_the_same_seed():
    x, y = _digits_subset(128)
    a, b = base_cnn(seed=1), base_cnn(seed=1)
    fit(a, x, y, epochs=1, batch_size=32, seed=5, progress=False, augment=random_shift)
    fit(b, x, y, epochs=1, batch_size=32, seed=5, progress=False, augment=random_shift)
    for (la, key), (lb, _) in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(la.params[key], lb.params[key], rtol=1e-6, atol=1e-7)


def test_fit_augments_training_batches_only():
    x, y = _digits_subset(100)
    seen = []

    def spy(batch, rng):
        seen.append(len(batch))
        return batch

    fit(base_cnn(), x, y, epochs=2, batch_size=32, x_val=x[:10], y_val=y[:10], progress=False, augment=spy)
    batches_per_epoch = -(-len(x) // 32)
    assert len(seen) == 2 * batches_per_epoch
    assert sum(seen) == 2 * len(x)


@pytest.mark.parametrize(
    "kwargs",
    [{"epochs": 0}, {"batch_size": 0}, {"epochs": 1.5}, {"x_val": np.zeros((1, 28, 28, 1))}, {"augment": 3}],
)
def test_fit_rejects_bad_arguments(kwargs):
    x, y = _digits_subset(8)
    with pytest.raises(ValueError):
        fit(base_cnn(), x, y, progress=False, **kwargs)


# --------------------------------------------------------------------------- the course's claim
def test_base_cnn_reaches_97_percent_on_the_digits():
    """base_cnn learns scikit-learn's digits to >= 97% held-out accuracy in seconds.

    Recipe: Adam, batches of 32 shifted by up to 2 pixels, 10 epochs at lr 1e-3 then 3 at 1e-4.
    Measured over six seeds, this schedule ends at 96.7-97.8% (mean 97.4%) without the shifts
    and at 97.8-99.2% (mean 98.4%) with them: the shifts give the margin above the 97% line.
    """
    x_train, y_train, x_test, y_test = load_digits()
    model = base_cnn(seed=0)
    optimizer = Adam(lr=1e-3)
    start = time.perf_counter()
    fit(model, x_train, y_train, epochs=10, batch_size=32, optimizer=optimizer, augment=random_shift, progress=False)
    optimizer.lr = 1e-4
    fit(model, x_train, y_train, epochs=3, batch_size=32, optimizer=optimizer, augment=random_shift, seed=1,
        progress=False)
    seconds = time.perf_counter() - start
    acc = accuracy(model, x_test, y_test)
    print(f"base_cnn on digits: test accuracy {acc:.4f} after {seconds:.1f} s of training")
    assert acc >= 0.97
