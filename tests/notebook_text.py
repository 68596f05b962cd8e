"""Shared helpers for the notebook tests: nbgrader's marked regions in a cell's source, the hook
that records graded questions, and the ways a count may be printed."""
import re


def between(source: str, begin: str, end: str) -> list[str]:
    """Lines strictly between ``### begin`` and ``### end`` markers (e.g. "BEGIN SOLUTION", "END SOLUTION")."""
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == f"### {begin}":
            inside = True
        elif line.strip() == f"### {end}":
            inside = False
        elif inside:
            out.append(line)
    return out


def meaningful(lines) -> list[str]:
    """Code lines worth searching for, stripped: not blank, not a comment, not trivially short."""
    return [ln.strip() for ln in lines if len(ln.strip()) >= 8 and not ln.strip().startswith("#")]


_RECORDING_HOOK = '''
import sys as _enn_sys
import efficientnn.quiz as _enn_quiz
_enn_check_module = _enn_sys.modules["efficientnn.quiz.check"]
%s

def _enn_recording(fn):
    def wrapper(question, *args, **kwargs):
        caller = _enn_sys._getframe(1).f_globals
        if caller.get("__name__") == "__main__" and caller.get("_enn_cell"):
            _enn_record(question, args, kwargs, caller)
        return fn(question, *args, **kwargs)
    return wrapper

for _enn_name in ("check", "grade", "assert_correct"):
    _enn_fn = _enn_recording(getattr(_enn_check_module, _enn_name))
    setattr(_enn_check_module, _enn_name, _enn_fn)
    setattr(_enn_quiz, _enn_name, _enn_fn)
'''


def recording_hook(record: str) -> str:
    """Source of a cell, injected first into a notebook, that wraps efficientnn.quiz's ``check``,
    ``grade`` and ``assert_correct`` so each question a graded cell hands them directly (not from
    inside a function checker) goes to ``_enn_record(question, args, kwargs, caller)``.

    ``record`` is code run before the wrapping: it defines ``_enn_record`` and ``_enn_cell`` and
    may use ``_enn_sys``, ``_enn_quiz`` and ``_enn_check_module`` (the unwrapped module).
    """
    return _RECORDING_HOOK % record


def count_patterns(n: int) -> list[tuple[str, str]]:
    """(text, regex) for each way a notebook may print the whole number ``n``.

    The texts are ``n`` plain, with ``,``/``_``/space thousands separators, and in K (and, from
    100,000 on, M) with 0 to 2 decimals; each regex matches its text not glued to other digits.
    Example: ``("12.3K", ...)`` is among ``count_patterns(12_345)``.
    """
    texts = {str(n), f"{n:,}", f"{n:_}", f"{n:,}".replace(",", " ")}
    for digits in (0, 1, 2):
        texts.add(f"{n / 1e3:.{digits}f}K")
        if n >= 100_000:
            texts.add(f"{n / 1e6:.{digits + 1}f}M")
    out = []
    for text in texts:
        body = re.escape(text).replace("K", "[kK]").replace("M", "[mM]").replace(r"\ ", r"[ \u00a0\u2009\u202f]")
        out.append((text, rf"(?<![\w.,]){body}(?![\d]|[.,]\d)"))
    return out
