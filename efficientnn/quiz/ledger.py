"""What the checkers saw, written down so a grader can re-check it outside the student's kernel.

At grading time a notebook's hidden tests run in a kernel that the student's own code controls:
code in an earlier cell can patch :mod:`efficientnn` or numpy so that a wrong answer "matches",
or replace a checker by one that always passes. No check inside that kernel can be trusted. So
while grading, the checkers also *record* the student's side of every check, and the grader
(``autograder.audit``) runs each test cell again in a clean interpreter, on those records.

Recording is on only when the environment variable ``EFFICIENTNN_LEDGER`` names a file (the
grader sets it; a student's own Jupyter never does). Every record is one JSON line with the
``cell`` it was made in (a hash of the running cell's source) and an ``event``:

``names``
    once per cell, at its first check: the values of the student's names listed (comma
    separated) in ``EFFICIENTNN_LEDGER_NAMES``, e.g. ``answer_one_filter`` or ``conv_macs``
    (a function is recorded by name only);
``call``
    each call a function checker makes to the student's function (:func:`call`): a hash of the
    arguments and what came back (``result``) or what was raised (``error``).

What the re-check proves, and what it does not
-----------------------------------------------
The kernel writes the ledger, so every record is the kernel's word. The clean re-check computes
every expected value itself and takes only the student's side (answers, function results) from
the records, so a kernel that patched efficientnn, numpy or a checker gains nothing from the
patch: the records still have to hold right answers. Records must also agree: a cell whose
"names" records differ (say, right answers written ahead of the checker's own record of wrong
ones), or whose calls were recorded but never made by the clean run's checker, fails as
tampered with; so does a graded cell with no record at all (its checker never ran).

It does not prove that the records hold what the student's names held. A kernel that replaces
the checker outright and writes one consistent set of records holding right answers passes;
but those right answers had to be computed (with efficientnn itself, say), which a notebook
could equally have assigned to its answer names. Truths the kernel can measure differently
from the grader (timings) are not taken from the kernel at all.

The same module *replays* records in the grader: :func:`replaying` makes :func:`call` return
the recorded results instead of calling anything, and :func:`observing` counts checks.

Example
-------
>>> decode(encode((19, 19, 1)))
(19, 19, 1)
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction

import numpy as np

__all__ = ["PATH_VARIABLE", "NAMES_VARIABLE", "encode", "decode", "call_key", "cell_key", "touch", "call",
           "replaying", "current_replay", "observing", "Replay", "Unreadable", "NotRecorded"]

PATH_VARIABLE = "EFFICIENTNN_LEDGER"
NAMES_VARIABLE = "EFFICIENTNN_LEDGER_NAMES"
#: Bytes a kernel may write to the ledger; past this, recording stops (the re-check then fails
#: the cells it has no records for), so a runaway loop cannot fill the disk.
MAX_LEDGER_BYTES = 64 * 2**20
#: Largest array (in bytes) or string (in characters) recorded in full.
MAX_VALUE_BYTES = 16 * 2**20
MAX_DEPTH = 32

_state = {"written": 0, "captured": set(), "replay": None, "observer": None}


class Unreadable:
    """Stands in for a value the ledger could not record (an object of an unknown type, too large)."""

    def __init__(self, what: str):
        self.what = what

    def __repr__(self) -> str:
        return f"<unrecorded {self.what}>"


class NotRecorded(LookupError):
    """A replayed call with arguments the kernel never recorded a result for."""


# --------------------------------------------------------------------------- values <-> JSON
def encode(value, depth: int = 0):
    """A JSON-ready, tagged form of ``value`` that :func:`decode` turns back into an equal value.

    Numbers, strings, None, ``...``, tuples, lists, dicts, sets, fractions, decimals, numpy
    scalars and numeric numpy arrays keep their type; anything else becomes ``["?", type]``.
    """
    if depth > MAX_DEPTH:
        return ["?", "nested too deeply"]
    if value is None:
        return ["N"]
    if value is Ellipsis:
        return ["E"]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biufc":
            return ["?", type(value).__name__]
        return ["g", value.dtype.str, base64.b64encode(value.tobytes()).decode()]
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc" or value.nbytes > MAX_VALUE_BYTES:
            return ["?", f"array of {value.dtype} ({value.nbytes} bytes)"]
        data = np.ascontiguousarray(value).tobytes()
        return ["a", value.dtype.str, list(value.shape), base64.b64encode(data).decode()]
    if isinstance(value, int):
        try:  # Python refuses str() of ints over sys.get_int_max_str_digits() digits (4,300)
            return ["i", str(int(value))]
        except ValueError:
            return ["?", "int too long to record"]
    if isinstance(value, float):
        return ["f", repr(float(value))]
    if isinstance(value, complex):
        return ["c", repr(value.real), repr(value.imag)]
    if isinstance(value, str):
        return ["s", str(value)] if len(value) <= MAX_VALUE_BYTES else ["?", "huge str"]
    if isinstance(value, Fraction):
        return ["q", str(value.numerator), str(value.denominator)]
    if isinstance(value, Decimal):
        return ["D", str(value)]
    if isinstance(value, tuple):
        return ["t", [encode(v, depth + 1) for v in value]]
    if isinstance(value, list):
        return ["l", [encode(v, depth + 1) for v in value]]
    if isinstance(value, (set, frozenset)):
        return ["S" if isinstance(value, set) else "F", [encode(v, depth + 1) for v in value]]
    if isinstance(value, dict):
        return ["d", [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]]
    return ["?", type(value).__name__]


def _dtype(text):
    dtype = np.dtype(text)
    if dtype.kind not in "biufc":  # never object arrays: decoding must not build arbitrary objects
        raise ValueError(f"unsupported dtype {text!r}")
    return dtype


def decode(obj):
    """The value :func:`encode` recorded; unknown or damaged records give an :class:`Unreadable`."""
    try:
        tag = obj[0]
        if tag == "N":
            return None
        if tag == "E":
            return Ellipsis
        if tag == "b":
            return bool(obj[1])
        if tag == "i":
            return int(obj[1])
        if tag == "f":
            return float(obj[1])
        if tag == "c":
            return complex(float(obj[1]), float(obj[2]))
        if tag == "s":
            return str(obj[1])
        if tag == "q":
            return Fraction(int(obj[1]), int(obj[2]))
        if tag == "D":
            return Decimal(str(obj[1]))
        if tag == "g":
            return np.frombuffer(base64.b64decode(obj[2]), dtype=_dtype(obj[1]))[0]
        if tag == "a":
            shape = tuple(int(n) for n in obj[2])
            data = base64.b64decode(obj[3])
            return np.frombuffer(data, dtype=_dtype(obj[1])).reshape(shape).copy()
        if tag == "t":
            return tuple(decode(v) for v in obj[1])
        if tag == "l":
            return [decode(v) for v in obj[1]]
        if tag == "S":
            return {decode(v) for v in obj[1]}
        if tag == "F":
            return frozenset(decode(v) for v in obj[1])
        if tag == "d":
            return {decode(k): decode(v) for k, v in obj[1]}
        return Unreadable(str(obj[1]) if len(obj) > 1 else "value")
    except Exception:  # a damaged or forged record is just unreadable
        return Unreadable("damaged record")


def call_key(args, kwargs) -> str:
    """A hash of a call's arguments: the same arguments give the same key in any interpreter."""
    text = json.dumps(encode((tuple(args), sorted((kwargs or {}).items()))), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cell_key(source: str) -> str:
    """The key of a notebook cell: a hash of its source, as the kernel ran it."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- recording (kernel)
def _running_cell():
    """The key of the cell IPython is running, or None outside IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    try:
        return cell_key(shell.history_manager.input_hist_raw[-1])
    except Exception:
        return None


def _write(record: dict) -> None:
    path = os.environ.get(PATH_VARIABLE)
    if not path:
        return
    try:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        _state["written"] += len(line)  # counted even when refused: once full, the ledger stays full
        if _state["written"] > MAX_LEDGER_BYTES:
            return
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
    except Exception:  # recording must never break a student's notebook
        pass


def _user_namespace() -> dict:
    # IPython installs the module whose namespace runs a notebook's cells as sys.modules["__main__"]
    # (InteractiveShell.init_sys_modules), so this is the shell's user_ns, and __main__'s outside IPython.
    return vars(sys.modules["__main__"])


def _names_record(cell) -> dict:
    main = _user_namespace()
    values = {}
    for name in filter(None, os.environ.get(NAMES_VARIABLE, "").split(",")):
        if name not in main:
            continue
        value = main[name]
        try:  # one value that cannot be recorded fails only the check that reads it, in the re-check
            if callable(value) and not isinstance(value, (np.ndarray, np.generic)):
                values[name] = ["fn", str(getattr(value, "__qualname__", type(value).__name__))]
            else:
                values[name] = encode(value)
        except Exception as exc:
            values[name] = ["?", f"unrecordable ({type(exc).__name__})"]
    return {"cell": cell, "event": "names", "values": values}


def touch() -> None:
    """Note that a check is being made: in a recorded kernel, capture the student's names once per cell.

    :func:`efficientnn.quiz.check` and :func:`call` call this; it costs nothing when not grading.
    """
    if _state["observer"] is not None:
        _state["observer"]()
    if not os.environ.get(PATH_VARIABLE):
        return
    cell = _running_cell()
    if cell is None or cell in _state["captured"]:
        return
    _state["captured"].add(cell)
    try:
        _write(_names_record(cell))
    except Exception:  # recording must never break a student's notebook
        pass


def call(fn, args, kwargs=None):
    """Call the student's ``fn(*args, **kwargs)`` for a checker, recording (or replaying) the outcome.

    Exceptions from ``fn`` propagate unchanged. While :func:`replaying`, ``fn`` is not called:
    the recorded result is returned, or the recorded exception raised again.
    """
    kwargs = kwargs or {}
    touch()
    replay = _state["replay"]
    if replay is not None:
        return replay(args, kwargs)
    if not os.environ.get(PATH_VARIABLE):
        return fn(*args, **kwargs)
    cell, key = _running_cell(), None
    try:
        key = call_key(args, kwargs)
    except Exception:
        pass
    try:
        result = fn(*args, **kwargs)
    except Exception as err:
        _write({"cell": cell, "event": "call", "key": key, "error": [type(err).__name__, str(err)[:2000]]})
        raise
    try:
        recorded = encode(result)
    except Exception as exc:  # never break the student's call; the re-check then fails this check
        recorded = ["?", f"unrecordable ({type(exc).__name__})"]
    _write({"cell": cell, "event": "call", "key": key, "result": recorded})
    return result


# --------------------------------------------------------------------------- replaying (grader)
def _exception(name: str, message: str) -> Exception:
    if name == "NotImplementedError":
        return NotImplementedError(message)
    return type(str(name), (Exception,), {})(message)


class Replay:
    """Recorded outcomes of one cell's calls, handed out by argument key in the order they were made."""

    def __init__(self, records):
        self.outcomes = {}
        for record in records:
            self.outcomes.setdefault(record.get("key"), []).append(record)
        self.used = {}

    def __call__(self, args, kwargs):
        key = call_key(args, kwargs)
        queue = self.outcomes.get(key)
        if not queue:
            raise NotRecorded("the grader has no record of this call in the graded kernel")
        index = self.used.get(key, 0)
        self.used[key] = index + 1
        record = queue[min(index, len(queue) - 1)]  # a call repeated more often than recorded: its last outcome
        if "error" in record:
            # each missing part gets its own default: ["ValueError"] is a ValueError with no message
            error = list(record["error"])
            name, message = (error + ["Exception", ""][len(error):])[:2]
            raise _exception(name, message)
        return decode(record["result"]) if "result" in record else Unreadable("no result")


def current_replay():
    """The :class:`Replay` in force (inside :func:`replaying`), else None."""
    return _state["replay"]


@contextmanager
def replaying(records):
    """Within the block, :func:`call` returns the outcomes in ``records`` (a cell's "call" records)."""
    previous, _state["replay"] = _state["replay"], Replay(records)
    try:
        yield _state["replay"]
    finally:
        _state["replay"] = previous


@contextmanager
def observing(callback):
    """Within the block, ``callback()`` runs at every check (:func:`touch`)."""
    previous, _state["observer"] = _state["observer"], callback
    try:
        yield
    finally:
        _state["observer"] = previous
