"""Output sizes against a brute-force count of window positions, and the errors a bad shape gets.

Sizes: the number of positions a window of k pixels takes, stepping s pixels, over n + 2p
pixels, counted one by one here (never with the formula under test). Errors: each message is
matched against the wording a student reads, with the argument named (``\\bkernel_size\\b``,
``\\bstride\\b``), so a message naming the wrong thing fails.
"""
import re

import numpy as np
import pytest

from efficientnn.shapes import (as_pair, as_shape, conv_output_shape, conv_output_size, dense_output_shape,
                                depthwise_output_shape, pool_output_shape, resolve_padding)


def positions(n, k, s=1, p=0):
    """Windows of k pixels placed every s pixels on a padded row of n + 2p pixels, counted."""
    count, start = 0, 0
    while start + k <= n + 2 * p:
        count += 1
        start += s
    return count


def raises(pattern, fn, *args, **kwargs):
    with pytest.raises(ValueError) as err:
        fn(*args, **kwargs)
    assert re.search(pattern, str(err.value)), f"{pattern!r} not in {str(err.value)!r}"


@pytest.mark.parametrize("n", [1, 5, 8, 13])
@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("s", [1, 2, 3])
@pytest.mark.parametrize("p", [0, 1, 2])
def test_output_size_counts_the_window_positions(n, k, s, p):
    if k > n + 2 * p:
        raises(r"^kernel of size \d+ is larger than the input", conv_output_size, n, k, s, p)
    else:
        assert conv_output_size(n, k, s, p) == positions(n, k, s, p)


def test_rectangular_kernels_and_padding_pairs_act_on_their_own_axis():
    h, w = 11, 8
    for (kh, kw), (ph, pw), s in [((3, 5), (0, 2), 1), ((5, 3), (2, 0), 2), ((1, 3), (1, 0), 1), ((2, 4), (0, 0), 3)]:
        expected = (positions(h, kh, s, ph), positions(w, kw, s, pw))
        assert conv_output_shape((h, w, 3), (kh, kw), 7, s, (ph, pw)) == expected + (7,)
        assert depthwise_output_shape((h, w, 3), (kh, kw), s, (ph, pw), 2) == expected + (6,)
        assert pool_output_shape((h, w, 3), (kh, kw), s, (ph, pw)) == expected + (3,)
    assert conv_output_shape((h, w, 3), (3, 5), 4, padding="same") == (h, w, 4)
    assert depthwise_output_shape((h, w, 3), (5, 1), padding="SAME") == (h, w, 3)
    assert conv_output_shape((h, w, 3), (3, 5), 4, padding="Valid") == (h - 2, w - 4, 4)


def test_resolve_padding():
    assert resolve_padding("same", 3) == (1, 1) and resolve_padding("same", (5, 3)) == (2, 1)
    assert resolve_padding("same", (1, 7)) == (0, 3) and resolve_padding("valid", (4, 2)) == (0, 0)
    assert resolve_padding((0, 2), 3) == (0, 2) and resolve_padding([2, 0], (3, 3)) == (2, 0)
    assert resolve_padding(0, 4) == (0, 0) and resolve_padding(np.int64(2), 3) == (2, 2)
    for padding, kernel in [(np.int64(2), 3), ("same", (5, 3)), ("valid", 3), ((1, 2), 5)]:
        assert all(type(v) is int for v in resolve_padding(padding, kernel))
    raises(r'^padding="same" needs an odd kernel size, got 4x3; use an int padding instead\.$',
           resolve_padding, "same", (4, 3))
    raises(r"got 3x2;", resolve_padding, "same", (3, 2))
    raises(r'^padding must be an int, "valid" or "same", got \'full\'\.$', resolve_padding, "full", 3)
    raises(r"^padding must be zero or more, got -1\.$", resolve_padding, (0, -1), 3)
    raises(r"^kernel_size must be positive, got 0\.$", resolve_padding, 0, (3, 0))


def test_pairs():
    assert as_pair(3, "kernel_size") == (3, 3) and as_pair((3, 5), "kernel_size") == (3, 5)
    assert as_pair([2.0, 4], "kernel_size") == (2, 4) and as_pair((0, 1), "padding", allow_zero=True) == (0, 1)
    assert as_pair(0, "padding", allow_zero=True) == (0, 0)
    raises(r"^kernel_size must be one int or a pair \(height, width\), got \(1, 2, 3\)\.$",
           as_pair, (1, 2, 3), "kernel_size")
    raises(r"^pool_size must be positive, got 0\.$", as_pair, (0, 2), "pool_size")
    raises(r"^pool_size must be positive, got 0\.$", as_pair, (2, 0), "pool_size")
    raises(r"^padding must be zero or more, got -1\.$", as_pair, (0, -1), "padding", True)
    raises(r"^padding must be zero or more, got -2\.$", as_pair, (-2, 0), "padding", True)
    raises(r"^kernel_size must be a whole number, got 'a' \(str\)\.$", as_pair, (3, "a"), "kernel_size")
    raises(r"^kernel_size must be a whole number, got 1\.5 \(float\)\.$", as_pair, (1.5, 3), "kernel_size")


def test_shapes():
    assert as_shape((28, 28, 1)) == (28, 28, 1) and as_shape([np.int32(4)], ndim=1) == (4,)
    assert all(type(v) is int for v in as_shape((np.int64(2), 3.0, 1)))
    raises(r"^input_shape must be a tuple such as \(28, 28, 1\) \(height, width, channels\), got '28x28x1'\.$",
           as_shape, "28x28x1")
    raises(r"^x must be a tuple such as", as_shape, 28, "x")
    raises(r"^input_shape must have 3 entries \(height, width, channels\), got \(28, 28\)\.$",
           as_shape, (28, 28), ndim=3)
    raises(r"^input_shape must have 1 entries \(units,\), got \(2, 2\)\.$", as_shape, (2, 2), ndim=1)
    raises(r"^input_shape must have 2 entries 2 numbers, got \(2, 2, 2\)\.$", as_shape, (2, 2, 2), ndim=2)
    raises(r"^every entry of input_shape must be positive, got 0\.$", as_shape, (28, 0, 1))
    raises(r"^every entry of s must be a whole number", as_shape, (28, "a"), "s")


def test_conv_output_size_names_each_bad_argument():
    raises(r"^the input size must be positive, got 0\.$", conv_output_size, 0, 1)
    raises(r"^the kernel size must be positive, got 0\.$", conv_output_size, 5, 0)
    raises(r"^stride must be positive, got 0\.$", conv_output_size, 5, 3, 0)
    raises(r"^padding must be zero or more, got -1\.$", conv_output_size, 5, 3, 1, -1)
    raises(r"^kernel of size 7 is larger than the input of size 5; the kernel must fit inside the \(padded\) "
           r"input\.$", conv_output_size, 5, 7)
    raises(r"^kernel of size 8 is larger than the input of size 5 padded by 1 on each side \(7\); the kernel must "
           r"fit inside the \(padded\) input\.$", conv_output_size, 5, 8, 1, 1)
    assert conv_output_size(5, 7, 1, 1) == 1  # a kernel exactly as large as the padded input fits once
    assert conv_output_size(28, 3) == 26 and conv_output_size(28, 3, padding=1) == 28  # stride 1 by default
    assert conv_output_size(28, 3, 2) == 13  # no padding by default


def test_layer_shapes_name_their_own_arguments():
    raises(r"^filters must be positive, got 0\.$", conv_output_shape, (8, 8, 3), 3, 0)
    raises(r"^stride must be positive, got 0\.$", conv_output_shape, (8, 8, 3), 3, 4, 0)
    raises(r"^kernel_size must be positive, got 0\.$", conv_output_shape, (8, 8, 3), (3, 0), 4)
    raises(r"^depth_multiplier must be positive, got 0\.$", depthwise_output_shape, (8, 8, 3), 3, 1, 0, 0)
    raises(r"^pool_size must be positive, got 0\.$", pool_output_shape, (8, 8, 3), 0)
    raises(r"^stride=None needs a square pool_size; give the stride explicitly\.$", pool_output_shape,
           (8, 8, 3), (2, 3))
    raises(r"^units must be positive, got 0\.$", dense_output_shape, (10,), 0)
    raises(r"^units must be a whole number, got '5' \(str\)\.$", dense_output_shape, (10,), "5")
    raises(r"\(units,\)", dense_output_shape, (10, 10), 5)
    raises(r"\(height, width, channels\)", conv_output_shape, (10, 10), 3)


def test_layer_shapes():
    assert pool_output_shape((8, 9, 3), 3) == (positions(8, 3, 3), positions(9, 3, 3), 3)
    assert pool_output_shape((8, 9, 3), (2, 3), stride=1) == (7, 7, 3)
    assert pool_output_shape((8, 8, 3), 2, padding=1) == (positions(8, 2, 2, 1),) * 2 + (3,)
    assert depthwise_output_shape((8, 8, 3), 3) == (6, 6, 3)
    assert depthwise_output_shape((8, 8, 3), 3, depth_multiplier=3) == (6, 6, 9)
    assert conv_output_shape((25, 25, 9), 7, 64) == (19, 19, 64)  # the lesson's example
    assert conv_output_shape((8, 8, 3), 3) == (6, 6, 1)  # one filter by default
    assert dense_output_shape((10,), 5.0) == (5,) and type(dense_output_shape((10,), 5.0)[0]) is int
    assert dense_output_shape([np.int64(3)], np.int64(4)) == (4,)
