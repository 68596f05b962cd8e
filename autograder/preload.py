"""What a grading worker would otherwise import and set up after it is forked, done once in the fork server.

:mod:`autograder.runner`'s fork server preloads this module. Besides the grader's own modules
and nbgrader's, each line was found by listing the modules a worker had imported by the time it
finished a job (numpy's random generators for the notebooks' seeds, the SQLite dialect for the
job's gradebook, the markdown and highlighting code of the feedback page); Pygments compiles a
lexer's regular expressions the first time the lexer is made, so the lexers the feedback page
uses are made here once.
"""
import difflib  # noqa: F401
import sqlite3  # noqa: F401

import IPython.core.inputtransformer2  # noqa: F401
import IPython.lib.lexers  # noqa: F401
import ipykernel.connect  # noqa: F401
import ipykernel.kernelspec  # noqa: F401
import jinja2.ext  # noqa: F401
import mistune.plugins.def_list  # noqa: F401
import mistune.plugins.task_lists  # noqa: F401
import mistune.plugins.url  # noqa: F401
import nbconvert.exporters.html  # noqa: F401
import nbgrader.api  # noqa: F401
import nbgrader.converters  # noqa: F401
import nbgrader.coursedir  # noqa: F401
import nbgrader.utils  # noqa: F401
import numpy.random  # noqa: F401
import pygments.styles.default  # noqa: F401
import sqlalchemy.dialects.sqlite  # noqa: F401
from ipython_pygments_lexers import IPython3Lexer, IPythonTracebackLexer
from pygments.lexers import HtmlLexer, PythonLexer

import autograder.audit  # noqa: F401
import autograder.gradebook  # noqa: F401
import autograder.preprocessors  # noqa: F401
import autograder.structure  # noqa: F401
import autograder.variants  # noqa: F401
import autograder.worker  # noqa: F401
import efficientnn.models  # noqa: F401
import efficientnn.quiz  # noqa: F401
import efficientnn.quiz.variants  # noqa: F401

for _lexer in (IPython3Lexer, IPythonTracebackLexer, PythonLexer, HtmlLexer):
    _lexer()
