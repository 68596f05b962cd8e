"""Reading a SUBMISSIONS folder (autograder.submissions) on real files, links, FIFOs and sockets.

Every hostile entry is made for real in a temporary folder, and each test first checks that the
entry is what it claims to be (a link that points at the solutions, a hard link shared with a
file outside), so a refusal proves the reader saw the attack, not a missing file.
"""
import os
import socket
from pathlib import Path

import pytest

from autograder.settings import GradingError
from autograder.submissions import NAME_CHARS, copy, find, problems, shown

KNOWN = ["01-measuring-cost", "03-pooling"]


def notebook(folder: Path, name="01-measuring-cost.ipynb") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("{}")
    return path


@pytest.fixture
def subs(tmp_path):
    root = tmp_path / "submitted"
    notebook(root / "alice" / "01-measuring-cost")
    notebook(root / "bob" / "01-measuring-cost")
    notebook(root / "bob" / "03-pooling", "03-pooling.ipynb")
    return root


def test_shown_escapes_and_shortens_names():
    assert shown("alice") == "'alice'"
    assert shown("a\nb") == "'a\\nb'"
    assert shown("x" * NAME_CHARS) == repr("x" * NAME_CHARS)
    assert shown("x" * (NAME_CHARS + 1)) == repr("x" * NAME_CHARS + "...")
    assert NAME_CHARS == 48


def test_a_clean_class_is_all_jobs(subs):
    found = find(subs, KNOWN)
    assert [(j.student, j.assignment) for j in found.jobs] == [("alice", "01-measuring-cost"),
                                                                ("bob", "01-measuring-cost"), ("bob", "03-pooling")]
    assert found.jobs[0].folder == subs / "alice" / "01-measuring-cost"
    assert found.refused == [] and found.skipped == []


def test_students_and_assignments_can_be_chosen(subs):
    found = find(subs, KNOWN, students=["bob"], assignments=["03-pooling"])
    assert [(j.student, j.assignment) for j in found.jobs] == [("bob", "03-pooling")]
    assert found.skipped == [("'alice'", "not asked for (--student)"),
                             ("'bob'/'01-measuring-cost'", "not asked for (--assignment)")]


def test_stray_entries_are_skipped_with_their_reason(subs):
    (subs / "notes.txt").write_text("x")
    (subs / ".ipynb_checkpoints").mkdir()
    (subs / "carol").mkdir()
    (subs / "alice" / "99-unknown").mkdir()
    (subs / "alice" / "__pycache__").mkdir()
    (subs / "alice" / "03-pooling").write_text("not a folder")
    found = find(subs, KNOWN)
    assert sorted(found.skipped) == sorted([
        ("'.ipynb_checkpoints'", "editor or cache files, not a student"),
        ("'notes.txt'", "a file where a student folder belongs"),
        ("'carol'", "an empty student folder"),
        ("'alice'/'99-unknown'", "no assignment of that name in source/"),
        ("'alice'/'__pycache__'", "editor or cache files"),
        ("'alice'/'03-pooling'", "a file where an assignment folder belongs"),
    ])
    assert len(found.jobs) == 3


def test_a_missing_folder_is_the_instructors_error(tmp_path):
    expected = r"no submissions folder at \S+nowhere \(expected SUBMISSIONS/<student>/<assignment>/<notebook>\.ipynb\)$"
    with pytest.raises(GradingError, match=expected):
        find(tmp_path / "nowhere", KNOWN)


def test_a_link_to_the_solutions_is_refused_never_followed(subs, tmp_path):
    secret = notebook(tmp_path / "source" / "01-measuring-cost")
    link = subs / "alice" / "01-measuring-cost" / "answers.ipynb"
    link.symlink_to(secret)
    assert link.is_symlink() and link.resolve() == secret.resolve()  # the attack is in place
    found = find(subs, KNOWN)
    assert [s.student for s, _ in found.refused] == ["alice"]
    assert found.refused[0][1] == [("'answers.ipynb'", "is a symbolic link (not followed)")]
    assert ("alice", "01-measuring-cost") not in [(j.student, j.assignment) for j in found.jobs]


def test_a_linked_assignment_or_student_folder_is_refused_or_skipped(subs, tmp_path):
    outside = tmp_path / "source" / "03-pooling"
    notebook(outside, "03-pooling.ipynb")
    (subs / "alice" / "03-pooling").symlink_to(outside, target_is_directory=True)
    (subs / "mallory").symlink_to(subs / "bob", target_is_directory=True)
    found = find(subs, KNOWN)
    assert ("'mallory'", "is a symbolic link (not followed), where a student folder belongs") in found.skipped
    refused = {(s.student, s.assignment): why for s, why in found.refused}
    assert refused[("alice", "03-pooling")] == [("the folder '03-pooling'", "is a symbolic link (not followed)")]


def test_fifos_sockets_and_outside_hard_links_are_refused(subs, tmp_path):
    folder = subs / "bob" / "01-measuring-cost"
    os.mkfifo(folder / "pipe")
    (folder / "sub").mkdir()
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(folder / "sub" / "sock"))
        outside = tmp_path / "gradebook.db"
        outside.write_text("grades")
        os.link(outside, folder / "db")
        inside = folder / "01-measuring-cost.ipynb"
        os.link(inside, folder / "copy.ipynb")  # a hard link within the submission is fine
        assert os.stat(folder / "db").st_ino == os.stat(outside).st_ino  # the attack is in place
        why = dict(problems(folder))
    finally:
        server.close()
    assert why == {"'pipe'": "is a FIFO", "'sub/sock'": "is a socket",
                   "'db'": "is a hard link to a file outside the submission"}
    assert problems(subs / "alice" / "01-measuring-cost") == []


def test_a_device_is_refused(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    try:
        os.mknod(folder / "null", 0o600 | 0o020000, os.makedev(1, 3))  # character device
    except PermissionError:
        pytest.skip("making a device node needs root")
    assert problems(folder) == [("'null'", "is a device")]


def test_copy_keeps_links_as_links_and_replaces_the_old_copy(subs, tmp_path):
    src = subs / "alice" / "01-measuring-cost"
    (src / "data").mkdir()
    (src / "data" / "x.txt").write_text("1")
    dest = tmp_path / "work" / "alice"
    copy(src, dest)
    assert (dest / "01-measuring-cost.ipynb").read_text() == "{}" and (dest / "data" / "x.txt").read_text() == "1"
    (src / "data" / "x.txt").write_text("2")
    (dest / "stale").write_text("old")
    copy(src, dest)
    assert (dest / "data" / "x.txt").read_text() == "2" and not (dest / "stale").exists()
    dest_file = tmp_path / "work" / "file"
    dest_file.write_text("a file where the copy goes")
    copy(src, dest_file)
    assert dest_file.is_dir()


def test_copy_keeps_a_link_a_link_and_makes_missing_parent_folders(subs, tmp_path):
    src = subs / "alice" / "01-measuring-cost"
    secret = tmp_path / "source" / "answers.txt"
    secret.parent.mkdir()
    secret.write_text("the solutions")
    (src / "answers.txt").symlink_to(secret)
    dest = tmp_path / "work" / "deep" / "alice"  # neither work/ nor work/deep/ exists yet
    copy(src, dest)
    assert (dest / "answers.txt").is_symlink()  # copied as a link, never as the file it points at
    assert os.readlink(dest / "answers.txt") == str(secret)
    assert (dest / "01-measuring-cost.ipynb").read_text() == "{}"


def test_a_linked_folder_inside_a_submission_is_not_walked_into(subs, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.mkfifo(outside / "pipe")
    folder = subs / "alice" / "01-measuring-cost"
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    assert (folder / "linked" / "pipe").is_fifo()  # through the link, the walk would meet a FIFO
    assert problems(folder) == [("'linked'", "is a symbolic link (not followed)")]
