"""Helpers shared by the quiz's tests (tests/test_quiz*.py)."""
import re

import numpy as np
import pytest


def side(n, k, s=1, p=0):
    """Output positions along one side: n pixels, kernel k, stride s, padding p (the textbook formula)."""
    return (n + 2 * p - k) // s + 1


def fails(checker, *args, **kwargs) -> str:
    """The message of the AssertionError ``checker(*args, **kwargs)`` must raise."""
    with pytest.raises(AssertionError) as info:
        checker(*args, **kwargs)
    return str(info.value)


def recording(fn):
    """``fn``, wrapped so that each call's positional arguments (arrays copied) are kept in ``.calls``."""
    def student_function(*args, **kwargs):
        student_function.calls.append(tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args))
        return fn(*args, **kwargs)

    student_function.calls = []
    return student_function


def rebuilt(message: str) -> dict:
    """Run the code a failure message gives for rebuilding the inputs (``... with x = np.random...; w = ...,``)
    as a student would; returns the namespace, the arrays by name."""
    found = re.search(r" with (?=[\w\[\]., ]+ = )", message)
    assert found, f"no recipe in {message!r}"
    text, statements, depth, start = message[found.end():], [], 0, 0
    for i, ch in enumerate(text):  # statements end at ";"; the last at "," or " returned"
        depth += (ch in "([") - (ch in ")]")
        last = depth == 0 and (ch == "," or text.startswith(" returned ", i))
        if depth == 0 and ch == ";" or last:
            statements.append(text[start:i].strip())
            start = i + 1
            if last:
                break
    else:
        statements.append(text[start:].strip())
    namespace = {"np": np}
    exec("\n".join(statements), namespace)  # the message's own code
    return namespace


def assert_message_rebuilds_last_call(message: str, function: str, call, names) -> None:
    """``message`` names ``function(`` and its recipe rebuilds the arrays of ``call`` (positional
    arguments as received), the i-th under ``names[i]``."""
    assert message.startswith(f"{function}("), message
    namespace = rebuilt(message) if names else {}
    for name, received in zip(names, call):
        assert name in namespace, (name, message)
        np.testing.assert_array_equal(namespace[name], received)
        assert namespace[name].dtype == received.dtype


#: Words written in capitals (or mixed case) on purpose in the course's texts.
ACRONYMS = {"MAC", "MACs", "FLOP", "FLOPs", "FLOPS", "GFLOPS", "HxWxD", "NHWC", "CSR", "ReLU", "ReLUs", "OpenVINO",
            "FUSED", "EXECUTED", "NOT_RUN", "L1", "L2", "NaN", "NotImplementedError", "AssertionError", "IPython",
            "MaxPool2D", "AvgPool2D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Keras", "KxK", "QuantParams"}


def assert_prose(text: str, *concepts: str) -> None:
    """``text`` reads as the course's teaching text and says each of ``concepts`` (regexes).

    Every sentence starts with a capital letter (the first may start with a name when a concept
    anchored with "^" says how it starts), the text ends with ".", "?" or ")", and no word is in
    capitals unless it is one of :data:`ACRONYMS` (so a garbled or shouted text fails).
    """
    assert text[:1].isupper() or any(c.startswith("^") for c in concepts), text  # "^relu3's ..." says how it starts
    assert text.rstrip()[-1] in ".?)", text
    for sentence in re.split(r"(?<!e\.g\.)(?<!i\.e\.)(?<=[.?!]) +(?=\S)", text)[1:]:
        assert not sentence[0].islower(), (sentence, text)
    for word in re.findall(r"[A-Za-z][A-Za-z0-9_]*", text):
        if sum(c.isupper() for c in word) >= 2:
            assert word in ACRONYMS, (word, text)
    for concept in concepts:
        assert re.search(concept, text), (concept, text)


def fingerprint(value) -> str:
    """A short digest of ``value`` (nested tuples, lists, dicts, numbers, strings and arrays, by shape, dtype and
    bytes), for pinning the inputs a checker grades on.

    Why pin them: the seeded cases are part of the grading contract. The grader's clean re-check and any
    regrade must call a student's function on the same inputs as the kernel did, so a change to a case
    list must be deliberate: update the digest in the same commit and say so.
    """
    import hashlib

    def canonical(v):
        if isinstance(v, np.ndarray):
            return ("array", v.shape, str(v.dtype), hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest())
        if isinstance(v, dict):
            return ("dict", tuple((k, canonical(x)) for k, x in v.items()))
        if isinstance(v, (list, tuple)):
            return tuple(canonical(x) for x in v)
        if isinstance(v, (np.integer, np.floating)):
            return v.item()
        return v

    return hashlib.sha256(repr(canonical(value)).encode()).hexdigest()[:16]
