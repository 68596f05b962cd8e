"""Put a submitted notebook's graded cells back the way they were released, and say what changed.

nbgrader finds test cells by their ``metadata.nbgrader.grade_id`` and puts back the original
source of any that was edited, but it is silent about it, and it copes badly with the other
things that happen to notebooks: a cell pasted twice, cells dragged out of order, metadata lost
when cells are copied into a fresh notebook, a test cell deleted (nbgrader's re-insertion can
fail when the cell before it lost its metadata). Before nbgrader sees a submission,
:func:`restore` compares it with the released notebook and

- gives back the released nbgrader metadata to a cell it recognises (by ``grade_id``, by cell
  ``id``, or, for a locked cell, by its exact source), so stripped metadata costs nothing;
- removes the extra copies of a duplicated test or locked cell (the first copy is graded) and
  turns extra copies of a solution cell into plain code (they still run);
- strips nbgrader metadata from cells that claim a grade_id the assignment does not have;
- puts a missing test or locked cell back, before the next released graded cell that is present;
- moves cells back into the released order when graded cells were reordered; a student's own
  cells move with the graded cell above them;

and returns one note per kind of change for the grade report. Edited test cells are only noted:
nbgrader itself replaces them with the original.
"""
from __future__ import annotations

import copy

from autograder.cells import grade_id, nbgrader_meta
from autograder.submissions import shown


def _kind(meta: dict) -> str:
    if meta.get("grade") and not meta.get("solution"):
        return "test"
    if meta.get("solution"):
        return "solution"
    return "locked" if meta.get("locked") else "other"


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _names(ids) -> str:
    ids = list(dict.fromkeys(ids))
    shown = ", ".join(ids[:4]) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")
    return shown


def restore(submitted, released) -> list[str]:
    """Bring ``submitted`` (a notebook, changed in place) back to ``released``'s graded structure.

    Returns notes for the grade report, e.g. ``"test cell test_square_hidden was missing: put back
    and graded"``; no notes when nothing needed doing.
    """
    rel = {grade_id(c): c for c in released.cells if grade_id(c)}
    order = {gid: i for i, gid in enumerate(g for g in (grade_id(c) for c in released.cells) if g)}
    by_cell_id = {c.get("id"): grade_id(c) for c in released.cells if grade_id(c) and c.get("id")}
    by_source = {}
    for c in released.cells:
        if grade_id(c) and _kind(nbgrader_meta(c)) in ("test", "locked"):
            by_source.setdefault((c.cell_type, _norm(c.source)), grade_id(c))

    notes, restored, fake, edited, dropped, demoted = [], [], [], [], [], []
    seen, cells = set(), []
    for cell in submitted.cells:
        gid = grade_id(cell)
        if gid is not None and gid not in rel:
            fake.append(shown(str(gid)))  # the student wrote it: escaped and cut short
            del cell["metadata"]["nbgrader"]  # where the grade_id was read: both exist
            gid = None
        if gid is None:
            candidate = by_cell_id.get(cell.get("id")) or by_source.get((cell.cell_type, _norm(cell.source)))
            if candidate and candidate not in seen:
                gid = candidate
                restored.append(gid)
        if gid is None:
            cells.append(cell)
            continue
        kind = _kind(nbgrader_meta(rel[gid]))
        if gid in seen:
            if kind in ("test", "locked"):
                dropped.append(gid)  # a copy of the grader's own cell: never the student's work
                continue
            del cell["metadata"]["nbgrader"]  # where the grade_id was read: both exist
            demoted.append(gid)
            cells.append(cell)
            continue
        seen.add(gid)
        cell.setdefault("metadata", {})["nbgrader"] = copy.deepcopy(rel[gid].metadata["nbgrader"])
        if kind in ("test", "locked") and (cell.cell_type != rel[gid].cell_type
                                           or _norm(cell.source) != _norm(rel[gid].source)):
            edited.append(gid)
        cells.append(cell)

    missing = [g for g in order if g not in seen and _kind(nbgrader_meta(rel[g])) in ("test", "locked")]
    for gid in missing:
        later = [i for i, c in enumerate(cells) if grade_id(c) in order and order[grade_id(c)] > order[gid]]
        at = min(later, key=lambda i: order[grade_id(cells[i])]) if later else len(cells)
        cells.insert(at, copy.deepcopy(rel[gid]))

    present = [order[grade_id(c)] for c in cells if grade_id(c) in order]
    moved = present != sorted(present)
    if moved:
        head, blocks = [], []
        for cell in cells:
            if grade_id(cell) in order:
                blocks.append([cell])
            elif blocks:
                blocks[-1].append(cell)
            else:
                head.append(cell)
        out_of_place = [grade_id(b[0]) for i, b in enumerate(blocks)
                        if any(order[grade_id(b[0])] > order[grade_id(later[0])] for later in blocks[i + 1:])]
        blocks.sort(key=lambda b: order[grade_id(b[0])])
        cells = head + [c for b in blocks for c in b]
    submitted.cells = cells

    if fake:
        notes.append(f"cell(s) {_names(fake)} claim a grade_id the assignment does not have: not graded")
    if restored:
        notes.append(f"nbgrader metadata was missing from cell(s) {_names(restored)}: restored from the "
                     "released notebook")
    if edited:
        notes.append(f"test or read-only cell(s) {_names(edited)} were edited: the original was graded")
    if dropped:
        notes.append(f"cell(s) {_names(dropped)} appear more than once: one copy was graded")
    if demoted:
        notes.append(f"solution cell(s) {_names(demoted)} appear more than once: the copies ran as plain code")
    if missing:
        notes.append(f"cell(s) {_names(missing)} were missing: put back and graded")
    if moved:
        notes.append(f"cells were moved out of the released order ({_names(out_of_place)}): graded in the "
                     "released order")
    return notes
