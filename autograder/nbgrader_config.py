# nbgrader settings for the efficientnn course.
#
# `python -m autograder` loads this file for every nbgrader step. nbgrader's own
# CLI can use it too, on the runtime course folder the grader fills, e.g.
#     nbgrader db student list --config autograder/nbgrader_config.py \
#         --CourseDirectory.root=course
# Values given on the `python -m autograder` command line (--timeout) override
# the ones here.
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, GetGrades,
                                    IgnorePattern, LimitOutput, SaveAutoGrades)

from autograder.preprocessors import ClearHiddenTracebacks, GradingExecute

c = get_config()  # noqa: F821  (injected by the traitlets config loader)

# Seconds a single cell may run before it is interrupted and marked as failed.
c.ExecutePreprocessor.timeout = 60

# nbgrader's autograde steps, with its Execute replaced by GradingExecute: the kernel
# starts in the grading sandbox (when the worker sets one up), always as the
# course's python3 kernel, and what a cell prints is kept within limits
# (GradingExecute.max_stream_chars and friends can be set here too).
c.Autograde.autograde_preprocessors = [
    GradingExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# A student who deletes a test cell still gets it run (and scored) at grading,
# instead of leaving the submission waiting for a manual grade.
c.OverwriteCells.add_missing_cells = True

# Feedback shows scores and the student's own code, never hidden tests: the
# hidden code is cut from the cells and failing hidden tests show only the
# checker's message (nbgrader shows both by default, jupyter/nbgrader#917).
c.GenerateFeedback.preprocessors = [
    GetGrades,
    ClearHiddenTracebacks,
    ClearHiddenTests,
    CSSHTMLHeaderPreprocessor,
]
