"""The course from a download (no git): its shipped copies serve reset; and the hard way
(`katas hard on|off`) serves katas without TODOs, never touching a file the learner changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakecourse import make_course

from fastapi_async_katas.commands import hard, reset
from fastapi_async_katas.course import shipped
from fastapi_async_katas.course.hard import HARD_TASKS, harden_app
from fastapi_async_katas.course.listing import load_course
from fastapi_async_katas.course.progress import BACKUPS_DIR, load

ROOT = Path(__file__).resolve().parent.parent
README = """# Kata 02 · beta

## The story

A ping that says no.

## The goal

The ping answers pong.

## Tasks

1. Open `app.py` and find the `TODO`.
2. Make it answer pong.

## What you learn

Answer what is asked.
"""


@pytest.fixture
def course(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake course as a download: no git anywhere above it, its shipped copies beside it."""
    make_course(pytester)
    (pytester.path / "katas" / "02_beta" / "README.md").write_text(README)
    monkeypatch.chdir(pytester.path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(pytester.path.parent))
    shipped.refresh(pytester.path)
    return pytester.path


def kata_file(root: Path, name: str) -> Path:
    return root / "katas" / "02_beta" / name


def test_the_shipped_copies_match_the_course_as_it_ships():
    for kata in load_course(ROOT):
        for name in shipped.SHIPPED_FILES:
            path = kata.kata_dir(ROOT) / name
            copy = ROOT / shipped.SHIPPED_DIR / kata.folder / name
            assert copy.is_file() and copy.read_bytes() == path.read_bytes(), (
                f"{copy.relative_to(ROOT)} differs from {path.relative_to(ROOT)}: "
                "refresh the copies with `python -m fastapi_async_katas.course.shipped`"
            )


def test_reset_works_from_a_download_with_no_git(course, capsys):
    shipped_app = kata_file(course, "app.py").read_text()
    kata_file(course, "app.py").write_text("mine\n")
    assert reset.main(["02"], prog="katas reset") == 0
    assert kata_file(course, "app.py").read_text() == shipped_app
    assert "as shipped with the course" in capsys.readouterr().out
    assert [p.read_text() for p in (course / BACKUPS_DIR / "02_beta").iterdir()] == ["mine\n"]


def test_reset_puts_back_an_edited_or_deleted_test_file_and_keeps_the_edited_one(course, capsys):
    tests = kata_file(course, "test_kata.py")
    shipped_tests = tests.read_text()
    tests.write_text(shipped_tests + "\n\ndef test_mine():\n    pass\n")
    assert reset.main(["02"], prog="katas reset") == 0
    assert tests.read_text() == shipped_tests
    out = capsys.readouterr().out
    assert reset.TESTS_RESTORED.format(tests="katas/02_beta/test_kata.py") in out
    assert any("def test_mine" in p.read_text() for p in (course / BACKUPS_DIR / "02_beta").iterdir())
    tests.unlink()
    assert reset.main(["02"], prog="katas reset") == 0
    assert tests.read_text() == shipped_tests


def test_the_hard_way_drops_the_todos_and_the_tasks_and_keeps_what_you_changed(course, capsys):
    mine = kata_file(course, "app.py").read_text().replace("False", "None")
    (course / "katas" / "01_alpha" / "app.py").write_text("changed by me\n")
    assert hard.main(["on"], prog="katas hard") == 0
    out = capsys.readouterr().out
    assert "katas/01_alpha/app.py" in out and "Left as they are" in out
    app = kata_file(course, "app.py").read_text()
    assert "TODO" not in app and 'return {"pong": False}' in app
    readme = kata_file(course, "README.md").read_text()
    assert "## The goal" in readme and HARD_TASKS.format(number="02").rstrip("\n") in readme
    assert "find the `TODO`" not in readme and "## What you learn" not in readme
    assert (course / "katas" / "01_alpha" / "app.py").read_text() == "changed by me\n"
    assert load(course).hard is True
    assert hard.main([], prog="katas hard") == 0
    assert "taken the hard way" in capsys.readouterr().out
    # A reset serves the kata the hard way too.
    kata_file(course, "app.py").write_text(mine)
    assert reset.main(["02"], prog="katas reset") == 0
    assert kata_file(course, "app.py").read_text() == app
    assert hard.main(["off"], prog="katas hard") == 0
    assert "# TODO: answer with pong" in kata_file(course, "app.py").read_text()
    assert kata_file(course, "README.md").read_text() == README
    assert load(course).hard is False


def test_a_todo_and_the_comment_lines_that_go_on_with_it_are_dropped_and_nothing_else():
    text = (
        "# a comment that stays\n"
        "def route():\n"
        "    # TODO: twenty shoppers at once make this\n"
        "    # route slow. Why?\n"
        "    x = 1  # stays\n"
        "    # another comment that stays\n"
        "    return x\n"
    )
    assert harden_app(text) == "# a comment that stays\ndef route():\n    x = 1  # stays\n    # another comment that stays\n    return x\n"
