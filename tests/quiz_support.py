"""Helpers shared by the quiz's tests (tests/test_quiz*.py)."""
import pytest


def side(n, k, s=1, p=0):
    """Output positions along one side: n pixels, kernel k, stride s, padding p (the textbook formula)."""
    return (n + 2 * p - k) // s + 1


def fails(checker, *args, **kwargs) -> str:
    """The message of the AssertionError ``checker(*args, **kwargs)`` must raise."""
    with pytest.raises(AssertionError) as info:
        checker(*args, **kwargs)
    return str(info.value)
