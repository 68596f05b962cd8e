"""Output shapes: the lesson's questions and clear errors for bad input."""
import pytest

from efficientnn import shapes


def test_lesson_kernel_questions():
    n, k = 25, 7
    assert shapes.conv_output_shape((n, n, 9), k, filters=1) == (n - k + 1, n - k + 1, 1)
    assert shapes.conv_output_shape((n, n, 9), k, filters=64) == (n - k + 1, n - k + 1, 64)
    # the outline's printed 16x16 is 25 - 9: the depth subtracted, not the kernel size
    assert shapes.conv_output_shape((n, n, 9), k, filters=1)[0] != n - 9


@pytest.mark.parametrize("n,k,s,p", [(28, 3, 1, 0), (28, 3, 2, 1), (7, 7, 1, 0), (10, 4, 3, 2), (5, 1, 5, 0)])
def test_output_size_formula(n, k, s, p):
    assert shapes.conv_output_size(n, k, s, p) == (n + 2 * p - k) // s + 1


def test_same_padding_and_pool_default_stride():
    assert shapes.resolve_padding("same", (3, 5)) == (1, 2)
    assert shapes.resolve_padding("valid", 3) == (0, 0)
    assert shapes.pool_output_shape((26, 26, 5), 2) == (13, 13, 5)
    assert shapes.pool_output_shape((26, 26, 5), 3, stride=1) == (24, 24, 5)
    assert shapes.depthwise_output_shape((8, 8, 3), 3, depth_multiplier=4) == (6, 6, 12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: shapes.conv_output_shape((5, 5, 1), 7), "larger than the input"),
        (lambda: shapes.conv_output_shape((25, 25, 9), 7, stride=0), "stride must be positive"),
        (lambda: shapes.conv_output_shape((25, 25, 9), 7, stride=-2), "stride must be positive"),
        (lambda: shapes.conv_output_shape((25, 25, 9), 7, stride=1.5), "stride must be a whole number"),
        (lambda: shapes.conv_output_shape((25, 25, 9), "7"), "kernel_size must be a whole number"),
        (lambda: shapes.conv_output_shape("25x25x9", 7), "must be a tuple"),
        (lambda: shapes.conv_output_shape((25, 25), 7), "3 entries"),
        (lambda: shapes.conv_output_shape((25, 0, 9), 7), "positive"),
        (lambda: shapes.conv_output_shape((25, 25, 9), 7, padding=-1), "padding must be zero or more"),
        (lambda: shapes.conv_output_shape((25, 25, 9), True), "whole number"),
        (lambda: shapes.dense_output_shape((4, 4), 3), "1 entries"),
    ],
)
def test_bad_input_says_what_was_expected(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value)


def test_float_that_is_a_whole_number_is_accepted():
    assert shapes.conv_output_shape((25.0, 25, 9), 7.0, filters=2) == (19, 19, 2)
