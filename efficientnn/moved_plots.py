"""Plots that moved to :mod:`efficientnn.plots`, still found in the packages they came from.

The figures of pruning, OpenVINO timing and quantization live in :mod:`efficientnn.plots`;
notebooks written earlier import them from ``efficientnn.pruning`` and the like. Each of those
packages sets its module ``__getattr__`` (PEP 562) to :func:`plot_forwarder`, which looks a plot
up on first use, so importing the package does not import the plotting module (which sits
above it and imports matplotlib).

Example
-------
>>> __getattr__ = plot_forwarder("efficientnn.pruning", ("weight_histogram",))
>>> __getattr__("weight_histogram").__module__
'efficientnn.plots'
>>> __getattr__("prune_everything")
Traceback (most recent call last):
    ...
AttributeError: module 'efficientnn.pruning' has no attribute 'prune_everything'
"""
from __future__ import annotations

__all__ = ["plot_forwarder"]


def plot_forwarder(package: str, names):
    """A module ``__getattr__`` for ``package`` that hands out the plots ``names`` from :mod:`efficientnn.plots`.

    Parameters
    ----------
    package : str, the package's ``__name__`` (for the AttributeError of any other name)
    names : iterable of str, the plot functions that moved

    Returns
    -------
    callable (name) -> the plot function; raises AttributeError for a name not in ``names``
    """
    names = frozenset(names)

    def __getattr__(name):
        if name in names:
            from . import plots

            return getattr(plots, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
