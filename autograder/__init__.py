"""Grading machinery for the efficientnn course, built on nbgrader.

``python -m autograder`` has three commands:

``release``   regenerate release/<a>/ from source/<a>/ (``--check`` compares only);
``grade``     autograde a class, one limited process and one sandboxed kernel per
              submission, re-check the scores outside the kernel, then write
              feedback pages, the gradebook and grades.csv;
``validate``  run a student's notebook and give a clear pass/fail verdict.

The nbgrader settings live in ``autograder/nbgrader_config.py``.
"""
import sys

# jsonschema (under nbformat and nbgrader) imports the optional rfc3987_syntax, which builds
# Lark parsers for IRIs at import: 1.2 s of CPU in the grader, in its fork server and in every
# nbgrader command, for a format no notebook schema uses. Without it jsonschema skips only the
# "iri" formats. setdefault leaves a process that already imported it alone.
sys.modules.setdefault("rfc3987_syntax", None)

from autograder.settings import GradingError  # noqa: E402

__all__ = ["GradingError"]
