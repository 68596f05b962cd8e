"""Every example in the package's docstrings runs and prints what it says."""
import doctest
import importlib
import pkgutil

import pytest

import efficientnn

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(efficientnn.__path__, prefix="efficientnn.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no docstring example; the house style asks for one"
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
