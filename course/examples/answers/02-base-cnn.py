"""Example class for 02-base-cnn (read by course/examples/build.py).

alice: every solution (10 / 10). bob: the released notebook untouched (0).
carol: a typical slip in every answer: no +1, MACs for FLOPs, input depth left out, bias counted (0).
dave: rounded answers, one cut off instead of rounded, a wrong depth, one left blank (5.5 / 10).
erin: every answer right, each in a different accepted form (10 / 10).
Right answers are written as formulas, like the solutions: no answer key is typed here.
"""

DESCRIPTIONS = {
    "alice": "the solutions: full marks",
    "bob": "blank: the released notebook, unchanged",
    "carol": "a typical slip in every answer",
    "dave": "rounded answers (one cut off), a wrong depth, one question blank: partial credit",
    "erin": "every answer right, in varied accepted forms",
}

STUDENTS = {
    "alice": "solution",
    "bob": "blank",
    "carol": {
        "answer_conv1_shape": "answer_conv1_shape = (28 - 3, 28 - 3, 5)",
        "answer_conv1_flops": "answer_conv1_flops = 26 * 26 * 5 * 3 * 3",
        "answer_conv2_shape": "answer_conv2_shape = (26 - 3, 26 - 3, 5)",
        "answer_conv2_flops": "answer_conv2_flops = 2 * 24 * 24 * 5 * 3 * 3",
        "answer_fc1_flops": "answer_fc1_flops = 24 * 24 * 5 * 128",
        "answer_fc2_flops": "answer_fc2_flops = 2 * 128 * 10 + 10",
    },
    "dave": {
        "answer_conv1_shape": "answer_conv1_shape = (28 - 2, 28 - 2, 5)",
        "answer_conv1_flops": 'answer_conv1_flops = f"{2 * 26 * 26 * 5 * 9 // 1000}K"',
        "answer_conv2_shape": "answer_conv2_shape = (26 - 2, 26 - 2, 1)",
        "answer_conv2_flops": 'answer_conv2_flops = f"~{2 * 24 * 24 * 5 * 45 / 1000:.0f}K"',
        "answer_fc1_flops": 'answer_fc1_flops = f"{2 * 24 * 24 * 5 * 128 / 1e6:.2f}M"',
    },
    "erin": {
        "answer_conv1_shape": 'answer_conv1_shape = f"{28 - 2} X {28 - 2} X 5"',
        "answer_conv1_flops": 'answer_conv1_flops = f"{2 * 26 * 26 * 5 * 9:,}"',
        "answer_conv2_shape": "answer_conv2_shape = [28 - 4, 28 - 4, 5]",
        "answer_conv2_flops": 'answer_conv2_flops = f"{2 * 24 * 24 * 5 * 45 / 1000:.1f}K FLOPs"',
        "answer_fc1_flops": "answer_fc1_flops = float(2 * 24 * 24 * 5 * 128)",
        "answer_fc2_flops": 'answer_fc2_flops = f"{2 * 128 * 10 / 1000:.2f}K"',
    },
}
