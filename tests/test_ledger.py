"""The ledger (efficientnn.quiz.ledger): values to JSON and back, recording a kernel's checks, replaying them.

Every expected value here is written out by hand (a tag, a type, a count of records), never read
back from the ledger's own tables.
"""
from __future__ import annotations

import json
import math
import os
import re
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from efficientnn.quiz import ledger
from efficientnn.quiz.ledger import NotRecorded, Unreadable, call, call_key, cell_key, decode, encode, replaying


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    """Each test starts with an empty ledger budget and no cell captured yet (the module keeps both)."""
    monkeypatch.setitem(ledger._state, "written", 0)
    monkeypatch.setitem(ledger._state, "captured", set())


def roundtrip(value):
    return decode(json.loads(json.dumps(encode(value))))


# --------------------------------------------------------------------------- values <-> JSON

@pytest.mark.parametrize("value", [None, ..., True, False, 0, 3, -7, 2**70, -0.1, 1e300, float("inf"), 1 + 2j,
                                   "", "19x19x1", (19, 19, 1), (), [1, (2, "3")], {"a": [1.5], 2: None},
                                   {1, 2}, frozenset({3}), Fraction(1, 3), Decimal("0.1"), np.int64(7),
                                   np.int8(-3), np.float32(0.5), np.complex64(1j), np.bool_(True),
                                   np.arange(12, dtype=np.float32).reshape(3, 4), np.array([True, False]),
                                   np.zeros((2, 0, 3), dtype=np.int16), np.arange(6, dtype=">i4")[::2]])
def test_values_survive_the_round_trip_with_their_type(value):
    back = roundtrip(value)
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape and np.array_equal(back, value)
        assert back.flags.writeable  # a copy, not a view of the decoded bytes
    elif isinstance(value, np.generic):
        assert back.dtype == value.dtype and back == value
    else:
        assert back == value
        if isinstance(value, (tuple, list)):
            assert [type(v) for v in back] == [type(v) for v in value]


def test_nan_and_bools_keep_their_identity():
    assert math.isnan(roundtrip(float("nan")))
    assert roundtrip(True) is True and roundtrip(False) is False
    assert roundtrip(1) is not True and type(roundtrip(1)) is int  # 1 is not the bool True
    assert roundtrip(...) is Ellipsis and roundtrip(None) is None


def test_the_tags_are_what_the_readme_of_a_record_says():
    assert encode(None) == ["N"] and encode(...) == ["E"] and encode(True) == ["b", True]
    assert encode(12) == ["i", "12"] and encode(0.25) == ["f", "0.25"] and encode("x") == ["s", "x"]
    assert encode(1.5 - 2j) == ["c", "1.5", "-2.0"] and encode(Fraction(2, 6)) == ["q", "1", "3"]
    assert encode(Decimal("2.50")) == ["D", "2.50"]
    assert encode((1,)) == ["t", [["i", "1"]]] and encode([None]) == ["l", [["N"]]]
    assert encode({"k": 1}) == ["d", [[["s", "k"], ["i", "1"]]]]
    assert encode({4}) == ["S", [["i", "4"]]] and encode(frozenset({4})) == ["F", [["i", "4"]]]
    assert encode(np.float64(1.0))[:2] == ["g", "<f8"]
    assert encode(np.zeros((2, 3), dtype=np.uint8))[:3] == ["a", "|u1", [2, 3]]


@pytest.mark.parametrize("value, what", [(object(), "object"), (np.array(["a"]), "array of <U1"),
                                         (np.str_("s"), "str_"), (lambda: 1, "function")])
def test_what_cannot_be_recorded_is_named(value, what):
    tag, description = encode(value)
    assert tag == "?" and description.startswith(what)
    back = decode(encode(value))
    assert isinstance(back, Unreadable) and what in repr(back) and repr(back).startswith("<unrecorded")


def test_limits_keep_records_small():
    deep = []
    for _ in range(ledger.MAX_DEPTH + 5):
        deep = [deep]
    assert "nested too deeply" in json.dumps(encode(deep))
    shallow = []
    for _ in range(ledger.MAX_DEPTH - 1):
        shallow = [shallow]
    assert "nested" not in json.dumps(encode(shallow))
    assert encode(2 ** 40000)[0] == "?" and encode(2 ** 4000) == ["i", str(2 ** 4000)]
    big = np.zeros(ledger.MAX_VALUE_BYTES // 8 + 1)
    assert encode(big)[0] == "?" and encode(big[:-1])[0] == "a"
    assert encode("x" * (ledger.MAX_VALUE_BYTES + 1))[0] == "?"
    assert encode("x" * ledger.MAX_VALUE_BYTES) == ["s", "x" * ledger.MAX_VALUE_BYTES]


@pytest.mark.parametrize("record", [["a", "O", [1], "AA=="], ["g", "O", "AA=="], ["a", "<f4", [5], "AA=="],
                                    ["i", "twelve"], [], None, ["zz", 1], ["q", "1", "0"], 7])
def test_damaged_or_forged_records_are_unreadable(record):
    back = decode(record)
    assert isinstance(back, Unreadable)


def test_an_unknown_tag_keeps_its_description():
    assert "a thing" in repr(decode(["?", "a thing"]))
    assert repr(decode(["?"])) == "<unrecorded value>"


def test_keys_depend_on_the_arguments_only():
    assert call_key((1, 2), {"a": 3, "b": 4}) == call_key([1, 2], {"b": 4, "a": 3})
    assert call_key((1, 2), {}) == call_key((1, 2), None)
    assert len({call_key((1, 2), {}), call_key((2, 1), {}), call_key((1, 2), {"a": 1}), call_key((1.0, 2), {})}) == 4
    assert len(call_key((), {})) == 32 and int(call_key((), {}), 16) >= 0
    assert cell_key("x = 1") == cell_key("x = 1") != cell_key("x = 2") and len(cell_key("")) == 16


# --------------------------------------------------------------------------- recording and replaying

def student(x, y=1):
    if x < 0:
        raise ValueError("negative")
    return x * y + 1


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    """Call records of a run of student functions, made with the ledger on."""
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv(ledger.PATH_VARIABLE, str(path))

    def read():
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return read


def test_without_the_environment_variable_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(ledger.PATH_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    assert call(student, (2,), {"y": 3}) == 7
    ledger.touch()
    assert list(tmp_path.iterdir()) == []


def test_calls_are_recorded_with_results_and_errors(recorded):
    assert call(student, (2,), {"y": 3}) == 7
    with pytest.raises(ValueError, match="negative"):
        call(student, (-1,))
    records = recorded()
    assert [r["event"] for r in records] == ["call", "call"]
    assert records[0]["key"] == call_key((2,), {"y": 3}) and decode(records[0]["result"]) == 7
    assert records[1]["error"] == ["ValueError", "negative"] and "result" not in records[1]
    assert all(r["cell"] is None for r in records)  # outside IPython there is no cell


def test_a_replayed_call_does_not_run_the_function(recorded):
    calls = []

    def spy(x):
        calls.append(x)
        return x + 1
    call(spy, (1,))
    records = recorded()
    with replaying(records) as replay:
        assert ledger.current_replay() is replay
        assert call(spy, (1,)) == 2 and call(None, (1,)) == 2
    assert calls == [1] and ledger.current_replay() is None


def test_repeated_calls_replay_in_the_order_they_were_made(recorded):
    """The same arguments twice can give two different results (a function with state)."""
    state = {"n": 0}

    def counter(x):
        state["n"] += 1
        if state["n"] == 3:
            raise RuntimeError("third call")
        return x * 10 + state["n"]
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(call(counter, (5,)))
        except RuntimeError as err:
            outcomes.append(str(err))
    assert outcomes == [51, 52, "third call"]
    with replaying(recorded()):
        assert call(None, (5,)) == 51
        assert call(None, (5,)) == 52
        with pytest.raises(Exception, match="third call") as err:
            call(None, (5,))
        assert type(err.value).__name__ == "RuntimeError"
        with pytest.raises(Exception, match="third call"):  # called more often than recorded: the last outcome
            call(None, (5,))


def test_calls_with_different_arguments_keep_separate_queues(recorded):
    for x in (1, 2, 1, 2):
        call(lambda v: v * 100 + len(recorded()), (x,))
    with replaying(recorded()):
        assert [call(None, (x,)) for x in (2, 1, 1, 2)] == [201, 100, 102, 203]
        with pytest.raises(NotRecorded, match="^the grader has no record of this call in the graded kernel$"):
            call(None, (3,))


def test_replayed_errors_keep_their_kind(recorded):
    def unfinished():
        raise NotImplementedError("write me")
    with pytest.raises(NotImplementedError):
        call(unfinished, ())
    with replaying(recorded()):
        with pytest.raises(NotImplementedError, match="write me"):
            call(None, ())
    forged = [{"key": call_key((), {}), "error": ["KeyError"]}, {"key": call_key((1,), {})}]
    with replaying(forged):
        with pytest.raises(Exception) as err:
            call(None, ())
        assert type(err.value).__name__ == "KeyError"
        assert isinstance(call(None, (1,)), Unreadable)


def test_replaying_nests_and_restores(recorded):
    call(student, (4,))
    outer = recorded()
    with replaying(outer):
        with replaying([]):
            with pytest.raises(NotRecorded):
                call(None, (4,))
        assert call(None, (4,)) == 5
    with pytest.raises(TypeError):  # replay over: the real function is called again
        call(None, (4,))


def test_observing_counts_every_check(recorded):
    seen = []
    with ledger.observing(lambda: seen.append(1)):
        call(student, (1,))
        ledger.touch()
        with ledger.observing(lambda: seen.append(2)):
            ledger.touch()
        ledger.touch()
    ledger.touch()
    assert seen == [1, 1, 2, 1]


def test_recording_stops_at_the_size_limit(recorded, monkeypatch):
    monkeypatch.setattr(ledger, "MAX_LEDGER_BYTES", 200)
    monkeypatch.setitem(ledger._state, "written", 0)
    for x in range(20):
        assert call(student, (x,)) == x + 1  # the student's notebook keeps working
    records = recorded()
    assert 1 <= len(records) < 20
    assert sum(len(json.dumps(r, separators=(",", ":"))) + 1 for r in records) <= 200


def test_a_ledger_that_cannot_be_written_never_breaks_the_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv(ledger.PATH_VARIABLE, str(tmp_path / "missing" / "ledger.jsonl"))
    assert call(student, (3,)) == 4
    ledger.touch()


def test_a_kernel_records_the_students_names_once_per_cell(tmp_path, monkeypatch):
    """In IPython, the first check of a cell records the values of the names the grader asked for."""
    from IPython.core.interactiveshell import InteractiveShell
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv(ledger.PATH_VARIABLE, str(path))
    monkeypatch.setenv(ledger.NAMES_VARIABLE, "answer,conv_macs,missing,arr")
    shell = InteractiveShell.instance()
    try:
        shell.run_cell("answer = (19, 19, 1)\ndef conv_macs(s):\n    return 1\nimport numpy as np\narr = np.int64(3)",
                       store_history=True)
        cell = "from efficientnn.quiz import ledger\nledger.touch()\nledger.touch()"
        assert shell.run_cell(cell, store_history=True).success
        assert ledger._user_namespace() is shell.user_ns  # IPython's user namespace is __main__'s
    finally:
        InteractiveShell.clear_instance()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 1 and records[0]["event"] == "names" and records[0]["cell"] == cell_key(cell)
    values = records[0]["values"]
    assert set(values) == {"answer", "conv_macs", "arr"}  # a name the kernel does not have is left out
    assert decode(values["answer"]) == (19, 19, 1) and values["conv_macs"] == ["fn", "conv_macs"]
    assert decode(values["arr"]) == 3 and values["arr"][0] == "g"  # a numpy number is a value, not a function


def test_a_replayed_error_with_a_name_but_no_message_has_an_empty_message():
    """A record holds [name, message]; a missing part defaults to itself, never to the other's default."""
    records = [{"key": call_key((1,), {}), "error": ["ValueError"]}, {"key": call_key((2,), {}), "error": []},
               {"key": call_key((3,), {}), "error": ["OverflowError", "too big"]}]
    with replaying(records):
        with pytest.raises(Exception) as named:
            call(None, (1,))
        assert type(named.value).__name__ == "ValueError" and str(named.value) == ""
        with pytest.raises(Exception) as nameless:
            call(None, (2,))
        assert type(nameless.value).__name__ == "Exception" and str(nameless.value) == ""
        with pytest.raises(Exception) as both:
            call(None, (3,))
        assert type(both.value).__name__ == "OverflowError" and str(both.value) == "too big"


# --------------------------------------------------------------------------- limits, exactly at the edge

def nested(container, levels):
    """``levels`` containers of one kind, each holding the next; the innermost holds the int 1."""
    value = 1
    for _ in range(levels):
        value = container(value)
    return value


def tuple_key(v):
    return {(v,): 0}  # a dict whose key holds the next level (a dict cannot be a key, so one dict on top)


@pytest.mark.parametrize("container", [lambda v: [v], lambda v: (v,), lambda v: frozenset({v}), lambda v: {"k": v}],
                         ids=["list", "tuple", "frozenset", "dict value"])
def test_32_levels_of_any_container_are_recorded_and_33_are_not(container):
    # 32 containers put the innermost value at depth 32 (the outermost is depth 0): still recorded
    assert "nested too deeply" not in json.dumps(encode(nested(container, 32)))
    assert '["?", "nested too deeply"]' in json.dumps(encode(nested(container, 33)))


def test_a_dict_key_counts_as_a_level():
    # a dict holding (as its key) a tuple holding 30 more: 32 levels; one tuple more is too deep
    assert "nested too deeply" not in json.dumps(encode({(nested(lambda v: (v,), 30),): 0}))
    assert "nested too deeply" in json.dumps(encode({(nested(lambda v: (v,), 31),): 0}))
    assert roundtrip({(nested(lambda v: (v,), 30),): 0}) == {(nested(lambda v: (v,), 30),): 0}


def test_what_is_too_large_says_so():
    assert encode(2 ** 40000) == ["?", "int too long to record"]
    assert encode("x" * (16 * 2**20 + 1)) == ["?", "huge str"]
    tag, what = encode(np.zeros(2**21 + 1))
    assert tag == "?" and re.fullmatch(r"array of float64 \(16777224 bytes\)", what)


def test_a_damaged_record_says_it_is_damaged():
    assert repr(decode(["i", "twelve"])) == "<unrecorded damaged record>"
    assert repr(decode(["zz", "a thing"])) == "<unrecorded a thing>"


def test_the_call_key_is_the_hash_of_the_compact_tagged_arguments():
    """Written out by hand: the key must be the same in the kernel and in the grader's interpreter."""
    import hashlib
    text = '["t",[["t",[["i","1"],["s","a"]]],["l",[["t",[["s","y"],["f","2.0"]]]]]]]'
    assert call_key((1, "a"), {"y": 2.0}) == hashlib.sha256(text.encode()).hexdigest()[:32]
    assert cell_key("x = 1") == hashlib.sha256(b"x = 1").hexdigest()[:16]


def test_a_record_exactly_at_the_size_limit_is_kept(recorded, monkeypatch):
    for x in range(5):
        call(student, (x,))
    sizes = [len(json.dumps(r, separators=(",", ":"))) + 1 for r in recorded()]
    assert len(sizes) == 5
    os.remove(os.environ[ledger.PATH_VARIABLE])
    monkeypatch.setattr(ledger, "MAX_LEDGER_BYTES", sum(sizes[:3]))
    monkeypatch.setitem(ledger._state, "written", 0)
    for x in range(5):
        assert call(student, (x,)) == x + 1
    assert [decode(r["result"]) for r in recorded()] == [1, 2, 3]


def test_long_error_messages_are_cut_at_2000_characters(recorded):
    def shouting(x):
        raise ValueError("A" * 2500)
    with pytest.raises(ValueError):
        call(shouting, (1,))
    (record,) = recorded()
    assert record["error"] == ["ValueError", "A" * 2000]


def test_a_result_that_cannot_be_encoded_is_recorded_as_unrecordable(recorded):
    class Sneaky(dict):
        def items(self):
            raise RuntimeError("no items")
    result = Sneaky(a=1)
    assert call(lambda: result, ()) is result  # the student's call still returns
    (record,) = recorded()
    assert record["result"] == ["?", "unrecordable (RuntimeError)"]
    assert record["key"] == call_key((), {})


def test_a_replayed_call_without_a_result_is_unreadable():
    with replaying([{"key": call_key((1,), {})}]):
        back = call(None, (1,))
    assert isinstance(back, Unreadable) and repr(back) == "<unrecorded no result>"


def test_touch_outside_ipython_records_nothing(recorded):
    ledger.touch()
    assert call(student, (1,)) == 2
    assert [r["event"] for r in recorded()] == ["call"]  # no cell: no "names" record


def test_without_ipython_the_names_come_from_main(monkeypatch):
    import sys
    import types
    main = types.ModuleType("__main__")
    main.answer = (19, 19, 1)
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.setenv(ledger.NAMES_VARIABLE, "answer")
    assert ledger._user_namespace() is main.__dict__
    assert ledger._names_record("c1") == {"cell": "c1", "event": "names", "values": {"answer": ["t", [["i", "19"],
                                                                                        ["i", "19"], ["i", "1"]]]}}
    monkeypatch.delenv(ledger.NAMES_VARIABLE)
    assert ledger._names_record("c2")["values"] == {}


def test_callables_are_recorded_by_name_and_a_name_that_cannot_be_read_is_marked(tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv(ledger.PATH_VARIABLE, str(path))
    monkeypatch.setenv(ledger.NAMES_VARIABLE, "scale,weird,,values")
    shell = InteractiveShell.instance()
    try:
        assert shell.run_cell("class Scale:\n    def __call__(self, x):\n        return 2 * x\n"
                       "class Weird:\n    def __call__(self):\n        return 0\n"
                       "    def __getattr__(self, name):\n        raise RuntimeError('no ' + name)\n"
                       "scale, weird, values = Scale(), Weird(), [1, 2]", store_history=True).success
        assert shell.run_cell("from efficientnn.quiz import ledger\nledger.touch()", store_history=True).success
    finally:
        InteractiveShell.clear_instance()
    (record,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert record["values"] == {"scale": ["fn", "Scale"], "weird": ["?", "unrecordable (RuntimeError)"],
                                "values": ["l", [["i", "1"], ["i", "2"]]]}


def test_keyword_arguments_are_part_of_a_replayed_calls_key(recorded):
    assert call(student, (2,), {"y": 3}) == 7
    with replaying(recorded()):
        assert call(None, (2,), {"y": 3}) == 7
        with pytest.raises(NotRecorded):
            call(None, (2,), {"y": 4})
        with pytest.raises(NotRecorded):
            call(None, (2,))


def test_a_replayed_error_ignores_parts_after_its_name_and_message():
    with replaying([{"key": call_key((), {}), "error": ["KeyError", "k", "more"]}]):
        with pytest.raises(Exception) as err:
            call(None, ())
    assert type(err.value).__name__ == "KeyError" and err.value.args == ("k",)


def test_once_a_record_does_not_fit_nothing_more_is_recorded(recorded, monkeypatch):
    call(student, (1,))
    small = len(json.dumps(recorded()[0], separators=(",", ":"))) + 1
    os.remove(os.environ[ledger.PATH_VARIABLE])
    monkeypatch.setattr(ledger, "MAX_LEDGER_BYTES", 2 * small + small // 2)  # room for two and a half

    def loud(x):
        raise ValueError("x" * 500)
    call(student, (1,))
    with pytest.raises(ValueError):
        call(loud, (1,))   # does not fit: refused
    call(student, (1,))    # would fit in the room left, but recording has stopped
    assert [r.get("result") for r in recorded()] == [["i", "2"]]


def test_without_ipython_there_is_no_running_cell(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "IPython", None)
    assert ledger._running_cell() is None  # no IPython: no cell, and no error
