"""nbconvert preprocessors the grader adds to nbgrader's pipeline.

nbgrader's ``ClearHiddenTests`` removes hidden test code from a feedback cell's
source, but IPython prints the failing line, and the lines around it, in the
traceback of the cell's output. :class:`ClearHiddenTracebacks` runs before it
and cuts those tracebacks down to the final ``ErrorName: message`` line, so
the message the checker wrote is all a student sees of a hidden test.
"""
from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

NOTICE = "(Traceback removed: this check is a hidden test.)"


class ClearHiddenTracebacks(Preprocessor):
    """Reduce tracebacks of cells that hold hidden tests to their last line.

    Must run before nbgrader's ``ClearHiddenTests``, which deletes the markers
    this preprocessor looks for.

    Examples
    --------
    >>> c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTracebacks,
    ...                                     ClearHiddenTests, CSSHTMLHeaderPreprocessor]
    """

    # nbconvert skips preprocessors that are not enabled, and the default is off.
    enabled = Bool(True).tag(config=True)
    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or self.begin_test_delimeter not in cell.source:
            return cell, resources
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                # The message is the checker's own words; the traceback is where
                # hidden test source would leak.
                output["traceback"] = [NOTICE, f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
