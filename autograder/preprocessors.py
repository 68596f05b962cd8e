"""nbconvert preprocessors the grader adds to nbgrader's pipeline.

:class:`GradingExecute` replaces nbgrader's ``Execute`` in autograde: it starts every kernel in
the sandbox (:mod:`autograder.sandbox`) when the grading worker asks for one, always with the
course's ``python3`` kernel (never one a submission names), and keeps what a cell prints within
limits, so that megabytes of output neither bloat the feedback nor slow the grader.

nbgrader's ``ClearHiddenTests`` removes hidden test code from a feedback cell's source, but
IPython prints the failing line, and the lines around it, in the traceback of the cell's output.
:class:`ClearHiddenTracebacks` runs before it and cuts those tracebacks down to the final
``ErrorName: message`` line, so the message the checker wrote is all a student sees of a hidden
test.
"""
from __future__ import annotations

import json
import os
import time

from jupyter_client.manager import AsyncKernelManager
from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Integer, Unicode

from autograder import sandbox
from autograder.sandbox import SandboxSpec

NOTICE = "(Traceback removed: this check is a hidden test.)"
#: Start of the line added to a cell whose output was cut (``autograder.worker`` looks for it).
CUT_MARK = "[grader] output cut:"


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside the sandbox given by its ``sandbox`` trait.

    ``sandbox`` is a :class:`autograder.sandbox.SandboxSpec` as a dict (the grading worker sets
    ``c.SandboxedKernelManager.sandbox``); empty, as in a student's own ``validate``, kernels
    start as usual. A sandboxed kernel has no network, so it talks to this process over Unix
    sockets (Jupyter's ``ipc`` transport) in a folder the sandbox shares.
    """

    sandbox = Dict(help="the SandboxSpec of this job's kernels, as a dict; empty for none").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._spec = SandboxSpec.from_dict(self.sandbox) if self.sandbox else None
        if self._spec is not None:
            self.cache_ports = False
            self.transport = "ipc"
            self.ip = self._spec.socket_prefix

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self._spec is not None:
            # The kernel has a session of its own in the sandbox, out of reach of a signal to the
            # launcher's process group: it is interrupted by a message on its control channel.
            self.kernel_spec.interrupt_mode = "message"
            env = kw.get("env") or dict(os.environ)
            kernel_cmd = sandbox.command(self._spec, kernel_cmd, str(kw.get("cwd") or os.getcwd()), env,
                                         self.connection_file)
        return await super()._async_launch_kernel(kernel_cmd, **kw)


def _text_size(out) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", ""))
    if out.get("output_type") == "error":
        return len(out.get("evalue", "")) + sum(len(t) for t in out.get("traceback", []))
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in out.get("data", {}).values())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... [{len(text) - limit:,} characters cut]"


class GradingExecute(Execute):
    """nbgrader's Execute, sandboxed, on the ``python3`` kernel, with bounded output.

    Per cell, at most ``max_stream_chars`` of printed text and ``max_rich_chars`` of other
    output (images, HTML) are kept, and the notebook keeps at most ``max_notebook_chars``; the
    rest is dropped (printed text) or shortened to a line (rich output) as it arrives, and the
    cell gets a line starting with :data:`CUT_MARK`. An error, a result or the first stderr
    output of a cell is never dropped, only shortened: nbgrader scores a cell by whether they
    exist.
    """

    max_stream_chars = Integer(64_000, help="characters of printed output kept per cell").tag(config=True)
    max_rich_chars = Integer(1_000_000, help="characters of rich output (images, HTML) kept per cell").tag(config=True)
    max_notebook_chars = Integer(8_000_000, help="characters of output kept in the whole notebook").tag(config=True)
    max_error_chars = Integer(4_000, help="characters kept of an error message and of each traceback line").tag(
        config=True)
    course_kernel = Unicode("python3", help="the kernel every submission runs on, whatever its metadata says").tag(
        config=True)

    #: Seconds spent starting kernels and waiting for them to answer, in this process (for the
    #: benchmark's breakdown; the grading worker resets it).
    kernel_start_s = 0.0

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
        self.kernel_name = self.course_kernel
        self._used = {}
        self._notebook_used = 0

    def _budget(self, cell_index):
        return self._used.setdefault(cell_index, {"stream": 0, "rich": 0, "cut": 0})

    def _shorten_error(self, out):
        out["evalue"] = _clip(str(out.get("evalue", "")), self.max_error_chars)
        out["traceback"] = [_clip(str(t), self.max_error_chars) for t in out.get("traceback", [])][:200]
        return out

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or not outs or outs[-1] is not out:
            return out
        budget = self._budget(cell_index)
        kind = out.get("output_type")
        size = _text_size(out)
        if kind == "error":
            self._shorten_error(out)
            return out
        room_notebook = self.max_notebook_chars - self._notebook_used
        if kind == "stream":
            room = min(self.max_stream_chars - budget["stream"], room_notebook)
            if size <= room:
                budget["stream"] += size
                self._notebook_used += size
                return out
            first_of_name = not any(o is not out and o.get("output_type") == "stream"
                                    and o.get("name") == out.get("name") for o in outs)
            keep = max(room, 200 if first_of_name else 0)
            budget["cut"] += size - keep
            if keep <= 0:
                outs.pop()
                return None
            out["text"] = out["text"][:keep]
            budget["stream"] += keep
            self._notebook_used += keep
            return out
        room = min(self.max_rich_chars - budget["rich"], room_notebook)
        if size <= room:
            budget["rich"] += size
            self._notebook_used += size
            return out
        budget["cut"] += size
        # Shortened, not dropped: a result may carry a partial score, and a display may be
        # updated later by its position.
        out["data"] = {"text/plain": str(out.get("data", {}).get("text/plain", ""))[:200]}
        out["metadata"] = {}
        return out

    def start_new_kernel(self, **kwargs):
        start = time.perf_counter()
        try:
            return super().start_new_kernel(**kwargs)
        finally:
            GradingExecute.kernel_start_s += time.perf_counter() - start

    def start_new_kernel_client(self):
        start = time.perf_counter()
        try:
            return super().start_new_kernel_client()
        finally:
            GradingExecute.kernel_start_s += time.perf_counter() - start

    def preprocess(self, nb, resources=None, km=None):
        self._used, self._notebook_used = {}, 0
        return super().preprocess(nb, resources, km=km)

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        cell, index = kwargs["cell"], kwargs["cell_index"]
        budget = self._budget(index)
        # A last sweep: outputs can also grow after they arrive (display updates).
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                self._shorten_error(out)
            elif kind == "stream" and len(out.get("text", "")) > self.max_stream_chars:
                budget["cut"] += len(out["text"]) - self.max_stream_chars
                out["text"] = out["text"][:self.max_stream_chars]
            elif kind in ("display_data", "execute_result") and _text_size(out) > self.max_rich_chars:
                budget["cut"] += _text_size(out)
                out["data"] = {"text/plain": str(out.get("data", {}).get("text/plain", ""))[:200]}
        cut = budget["cut"]
        if cut:
            note = (f"{CUT_MARK} {cut:,} characters of this cell's output were not kept (the grader keeps "
                    f"{self.max_stream_chars:,} characters of printed text per cell).\n")
            streams = [o for o in cell.outputs if o.get("output_type") == "stream"]
            if streams:  # at the top, where nbgrader's LimitOutput (it keeps the first lines) keeps it
                streams[0]["text"] = note + streams[0]["text"]
            else:  # (appended, not inserted: displays are updated by their position)
                cell.outputs.append(NotebookNode(output_type="stream", name="stdout", text=note))


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
