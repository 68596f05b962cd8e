"""Example class for 02-base-cnn (read by course/examples/build.py).

alice: every solution, her own variant included (16 / 16). bob: the released notebook untouched (0).
carol: a typical slip in every answer: no +1, MACs for FLOPs, input depth left out, bias counted;
her variant left blank (0 / 16).
dave: rounded answers, one cut off instead of rounded, a wrong depth, one left blank; his variant
left blank (5.5 / 16).
erin: every answer of the lesson's quiz right, each in a different accepted form; her id written in
the marked cell, her variant left blank (10 / 16).
frank: the lesson's quiz right, and the variant answers copied from alice's notebook, her id
included: graded against his own variant, they score 0 (10 / 16), and the integrity report
(course/integrity.csv) lists each of them as alice's.
Right answers are written as formulas, like the solutions: no answer key is typed here. frank's
copied values are computed from alice's variant when the class is built.
"""
from autograder.variants import variant_rows

DESCRIPTIONS = {
    "alice": "the solutions: full marks",
    "bob": "blank: the released notebook, unchanged",
    "carol": "a typical slip in every answer",
    "dave": "rounded answers (one cut off), a wrong depth, one question blank: partial credit",
    "erin": "every answer of the quiz right, in varied accepted forms; variant blank",
    "frank": "the quiz right; the variant answers copied from alice: 0 for them, listed in the integrity report",
}


def _copied_from(student: str) -> dict:
    """The variant answer cells of a student who pasted ``student``'s values (computed, never typed)."""
    cells = {}
    for row in variant_rows(student, "02-base-cnn"):
        value = tuple(row["answer"]) if isinstance(row["answer"], list) else row["answer"]
        cells[f"answer_{row['question']}"] = f"answer_{row['question']} = {value!r}  # from {student}'s notebook"
    return cells


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
    "frank": {"__base__": "solution", "__student_id__": "alice", **_copied_from("alice")},
    "erin": {
        "__student_id__": "erin",
        "answer_conv1_shape": 'answer_conv1_shape = f"{28 - 2} X {28 - 2} X 5"',
        "answer_conv1_flops": 'answer_conv1_flops = f"{2 * 26 * 26 * 5 * 9:,}"',
        "answer_conv2_shape": "answer_conv2_shape = [28 - 4, 28 - 4, 5]",
        "answer_conv2_flops": 'answer_conv2_flops = f"{2 * 24 * 24 * 5 * 45 / 1000:.1f}K FLOPs"',
        "answer_fc1_flops": "answer_fc1_flops = float(2 * 24 * 24 * 5 * 128)",
        "answer_fc2_flops": 'answer_fc2_flops = f"{2 * 128 * 10 / 1000:.2f}K"',
    },
}
