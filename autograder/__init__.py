"""Grading machinery for the efficientnn course, built on nbgrader.

``python -m autograder`` has three commands:

``release``   regenerate release/<a>/ from source/<a>/ (``--check`` compares only);
``grade``     autograde a class, one limited process and one sandboxed kernel per
              submission, re-check the scores outside the kernel, then write
              feedback pages, the gradebook and grades.csv;
``validate``  run a student's notebook and give a clear pass/fail verdict.

The nbgrader settings live in ``autograder/nbgrader_config.py``.
"""
from autograder.settings import GradingError

__all__ = ["GradingError"]
