"""Compatibility only: the old home of assignment 01's checkers and the harness. Import from
:mod:`efficientnn.quiz.a01_measuring_cost` and :mod:`efficientnn.quiz.harness` instead.

Notebooks of assignment 01 released before the quiz was arranged by assignment import
``self_check`` and the ``check_*`` functions from here in cells that belong to the student (the
self-check cells, which the grader does not restore from the release). Students keep and hand in
those notebooks, so these names must keep importing; nothing in the course imports them anymore.

Example
-------
>>> from efficientnn.quiz import a01_measuring_cost
>>> check_dense_macs is a01_measuring_cost.check_dense_macs
True
"""
from .a01_measuring_cost import (CONV_CASE_SETS, check_conv_flops, check_conv_macs, check_dense_macs,  # noqa: F401
                                 check_output_shape, conv_cases, dense_cases)
from .harness import FunctionCase, call_text, check_form, check_function, self_check  # noqa: F401

__all__ = ["FunctionCase", "check_function", "check_form", "self_check", "call_text", "conv_cases", "dense_cases",
           "CONV_CASE_SETS", "check_output_shape", "check_dense_macs", "check_conv_macs", "check_conv_flops"]
