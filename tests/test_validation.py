"""The shared argument checks: what they accept, what they return, and the messages they give."""
import numpy as np
import pytest

from efficientnn import data, pruning, train, validation
from efficientnn.models import base_cnn


@pytest.mark.parametrize("value, expected", [(3, 3), (np.int64(4), 4), (5.0, 5), (np.float32(2.0), 2)])
def test_positive_int_returns_a_python_int(value, expected):
    result = validation.positive_int(value, "filters")
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value, allow_zero, message", [
    (0, False, "filters must be positive, got 0."),
    (-1, True, "filters must be zero or more, got -1."),
    (1.5, False, "filters must be a whole number, got 1.5 (float)."),
    ("3", False, "filters must be a whole number, got '3' (str)."),
    (True, False, "filters must be a whole number, got True (bool)."),
    (None, True, "filters must be a whole number, got None (NoneType)."),
])
def test_positive_int_names_what_was_wrong_and_what_was_expected(value, allow_zero, message):
    with pytest.raises(ValueError) as err:
        validation.positive_int(value, "filters", allow_zero=allow_zero)
    assert str(err.value) == message


def test_whole_number_allows_any_sign():
    assert validation.whole_number(-3, "step") == -3
    with pytest.raises(ValueError, match=r"^step must be a whole number, got nan \(float\)\.$"):
        validation.whole_number(float("nan"), "step")


def test_check_model_accepts_a_sequential_and_refuses_anything_else():
    model = base_cnn()
    assert validation.check_model(model) is model
    with pytest.raises(ValueError, match=r"expected an efficientnn Sequential model .* got list\."):
        validation.check_model([1, 2])


def test_every_module_uses_the_one_check():
    # The same rule and message wherever a count is taken, not four copies with four wordings.
    calls = [lambda: data.resize_bilinear(np.zeros((1, 8, 8), np.float32), 0),
             lambda: train.fit(base_cnn(), np.zeros((2, 28, 28, 1), np.float32), np.zeros(2, int), epochs=0),
             lambda: pruning.zhu_gupta_sparsity(1, 0.9, 0),
             lambda: pruning.csr_bytes(np.ones(4), index_bytes=0)]
    messages = []
    for call in calls:
        with pytest.raises(ValueError) as err:
            call()
        messages.append(str(err.value))
    assert [m.split(" must be ")[1] for m in messages] == ["positive, got 0."] * 4
