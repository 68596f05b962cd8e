"""Example class for 01-measuring-cost (read by course/examples/build.py).

alice: every solution, her own variant included (15 / 15). bob: the released notebook untouched (0).
carol: the lesson's slips: no +1 in the output size, the depth subtracted in the lesson's
questions, MACs returned for FLOPs, bias adds counted, MACs divided by the FLOPS in question 3;
conv_macs written out right; variant left blank (2 / 15).
dave: partial credit: stride and padding ignored, conv_flops left blank, the right height and
width with the input's depth in question 2, the time of question 3 left in seconds; variant left blank (4.5 / 15).
erin: right throughout in other accepted forms: numpy values and lists returned, shapes as
strings, the time as a string in µs; her variant from the solutions' formulas (15 / 15).
"""

DESCRIPTIONS = {
    "alice": "the solutions: full marks",
    "bob": "blank: the released notebook, unchanged",
    "carol": "the lesson's slips (missing +1, depth subtracted, MACs for FLOPs, bias counted)",
    "dave": "partial credit (stride and padding ignored, one task left blank, a wrong depth, seconds for ms)",
    "erin": "right throughout, in other accepted forms (numpy values, lists, strings, µs)",
}

STUDENTS = {
    "alice": "solution",
    "bob": "blank",
    "carol": {
        "dense_macs": '''
def dense_macs(in_units, out_units):
    """MACs of a dense layer with in_units inputs and out_units outputs, for one example (an int)."""
    return in_units * out_units + out_units  # counts the bias adds too
''',
        "output_shape": '''
def output_shape(input_shape, kernel_size, filters, stride=1, padding=0):
    """Output shape (H_out, W_out, C_out) of a convolution with `filters` square kernels."""
    h, w, _ = input_shape
    return ((h + 2 * padding - kernel_size) // stride, (w + 2 * padding - kernel_size) // stride, filters)
''',
        "conv_macs": '''
def conv_macs(input_shape, kernel_size, filters, stride=1, padding=0):
    """MACs of a convolution for one example, bias additions not counted (an int)."""
    h, w, c = input_shape
    h_out = (h + 2 * padding - kernel_size) // stride + 1
    w_out = (w + 2 * padding - kernel_size) // stride + 1
    return h_out * w_out * filters * kernel_size * kernel_size * c
''',
        "conv_flops": '''
def conv_flops(input_shape, kernel_size, filters, stride=1, padding=0):
    """FLOPs of a convolution for one example, bias additions not counted (an int)."""
    return conv_macs(input_shape, kernel_size, filters, stride, padding)
''',
        "answer_one_filter": 'answer_one_filter = "16x16x1"',
        "answer_64_filters": 'answer_64_filters = "16X16X64"',
        "answer_inference_time": "answer_inference_time = 60e6 / 25e9 * 1000  # MACs divided by the FLOPS",
    },
    "dave": {
        "dense_macs": '''
def dense_macs(in_units, out_units):
    return in_units * out_units
''',
        "output_shape": '''
def output_shape(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, c = input_shape
    return (h - kernel_size + 1, w - kernel_size + 1, filters)
''',
        "conv_macs": '''
def conv_macs(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, c = output_shape(input_shape, kernel_size, filters)
    return h * w * c * kernel_size * kernel_size * input_shape[2]
''',
        "answer_one_filter": "answer_one_filter = (25 - 7 + 1, 25 - 7 + 1, 1)",
        "answer_64_filters": "answer_64_filters = (25 - 7 + 1, 25 - 7 + 1, 9)",
        "answer_inference_time": "answer_inference_time = 2 * 60e6 / 25e9  # seconds, not ms",
    },
    "erin": {
        "__base__": "solution",
        "output_shape": '''
import numpy as np


def output_shape(input_shape, kernel_size, filters, stride=1, padding=0):
    sides = (np.array(input_shape[:2]) + 2 * padding - kernel_size) // stride + 1
    return [*sides, filters]
''',
        "dense_macs": '''
import numpy as np


def dense_macs(in_units, out_units):
    return np.int64(in_units) * out_units
''',
        "answer_one_filter": 'answer_one_filter = f"{25 - 7 + 1} X {25 - 7 + 1} X 1"',
        "answer_64_filters": 'answer_64_filters = "({0}, {0}, 64)".format(25 - 7 + 1)',
        "answer_inference_time": 'answer_inference_time = f"{2 * 60e6 / 25e9 * 1e6:g} µs"',
    },
}
