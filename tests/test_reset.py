"""Reset without loss: `katas reset NN` backs up the learner's app.py, then restores the shipped one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fakecourse import make_course

from fastapi_async_katas.commands import listing, reset
from fastapi_async_katas.course import shipped
from fastapi_async_katas.course.progress import BACKUPS_DIR, load, unused_path

COURSE_AUTHOR = {"GIT_AUTHOR_NAME": "Course Author", "GIT_AUTHOR_EMAIL": "course@example.com"}
LEARNER = {"GIT_AUTHOR_NAME": "Learner", "GIT_AUTHOR_EMAIL": "learner@example.com"}
MINE = "# my own attempt\n"


def git(root: Path, *args: str, who: dict[str, str] | None = None) -> str:
    env = {**os.environ, **(who or LEARNER)}
    env.update({"GIT_COMMITTER_NAME": env["GIT_AUTHOR_NAME"], "GIT_COMMITTER_EMAIL": env["GIT_AUTHOR_EMAIL"]})
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def course(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake course as a git checkout: shipped by the course's author, worked on by the learner."""
    make_course(pytester)
    root = pytester.path
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "the course", who=COURSE_AUTHOR)
    for key, value in LEARNER.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(root)
    return root


def app_of(root: Path) -> Path:
    return root / "katas" / "02_beta" / "app.py"


def backups(root: Path) -> list[Path]:
    return sorted((root / BACKUPS_DIR / "02_beta").glob("app-*.py"))


def test_reset_backs_up_your_app_then_restores_the_shipped_one(course, capsys):
    app_of(course).write_text(MINE)
    assert reset.main(["02"], prog="katas reset") == 0
    assert app_of(course).read_bytes() == git(course, "show", "HEAD:katas/02_beta/app.py").encode()
    [backup] = backups(course)
    assert backup.read_text() == MINE
    out = capsys.readouterr().out.splitlines()
    assert out[0] == reset.BACKED_UP.format(app="katas/02_beta/app.py", backup=backup.relative_to(course))
    assert out[1].startswith("Restored katas/02_beta/app.py as shipped (commit ")
    assert out[-1] == reset.RUN_AGAIN.format(number="02")


def test_reset_brings_back_the_courses_version_when_you_committed_your_own(course):
    shipped = app_of(course).read_bytes()
    app_of(course).write_text(MINE)
    git(course, "commit", "-q", "-am", "my attempt")
    app_of(course).write_text(MINE + "# and more, not committed\n")
    assert reset.main(["02_beta"], prog="katas reset") == 0
    assert app_of(course).read_bytes() == shipped
    assert [b.read_text() for b in backups(course)] == [MINE + "# and more, not committed\n"]


def test_reset_takes_a_later_update_of_the_course_over_the_first_version(course):
    updated = app_of(course).read_text() + "# fixed a typo in the kata\n"
    app_of(course).write_text(updated)
    git(course, "commit", "-q", "-am", "course update", who=COURSE_AUTHOR)
    app_of(course).write_text(MINE)
    git(course, "commit", "-q", "-am", "my attempt")
    assert reset.main(["2"], prog="katas reset") == 0
    assert app_of(course).read_text() == updated


def test_every_reset_keeps_a_new_backup_and_never_overwrites_one(course):
    for attempt in range(3):
        app_of(course).write_text(f"# attempt {attempt}\n")
        assert reset.main(["02"], prog="katas reset") == 0
    assert sorted(b.read_text() for b in backups(course)) == ["# attempt 0\n", "# attempt 1\n", "# attempt 2\n"]


def test_reset_from_a_named_commit(course):
    first = git(course, "rev-parse", "HEAD").strip()
    app_of(course).write_text("# the course, version 2\n")
    git(course, "commit", "-q", "-am", "course update", who=COURSE_AUTHOR)
    assert reset.main(["02", "--from", first], prog="katas reset") == 0
    assert app_of(course).read_text() == git(course, "show", f"{first}:katas/02_beta/app.py")


def test_reset_outside_git_refuses_and_touches_nothing(pytester: pytest.Pytester, monkeypatch, capsys):
    make_course(pytester)
    monkeypatch.chdir(pytester.path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(pytester.path.parent))
    app_of(pytester.path).write_text(MINE)
    assert reset.main(["02"], prog="katas reset") == 1
    assert app_of(pytester.path).read_text() == MINE
    assert not (pytester.path / BACKUPS_DIR).exists()
    err = capsys.readouterr().err
    assert err.strip() == reset.NO_SHIPPED.format(app="katas/02_beta/app.py", why=shipped.NOT_IN_GIT)


def test_reset_of_an_unknown_kata_lists_the_katas(course, capsys):
    assert reset.main(["07"], prog="katas reset") == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "katas reset: there is no kata '07'. The katas are:"
    assert err[1].split() == ["01", "01_alpha", "The", "first", "kata"]


def test_after_a_reset_katas_shows_the_kata_as_reset_not_solved(course, capsys):
    state = load(course)
    state.record_result("02_beta", True)
    state.record_revealed("02_beta", [1])
    state.save()
    reset.main(["02"], prog="katas reset")
    entry = load(course).katas["02_beta"]
    assert (entry.status, entry.revealed, entry.ever_solved) == (None, [1], True)
    capsys.readouterr()
    listing.main([], prog="katas")
    line = next(l for l in capsys.readouterr().out.splitlines() if " 02 " in l)
    assert line.startswith(f"  {listing.RESET_MARK} 02  The second kata  reset on ")
    assert ", not run since (solved before on " in line and line.endswith(" · hints seen: 1 of 3")


def test_a_backup_name_is_never_reused(tmp_path: Path):
    first = unused_path(tmp_path, "app-x", ".py")
    first.write_text("one")
    second = unused_path(tmp_path, "app-x", ".py")
    assert (first.name, second.name, first.read_text()) == ("app-x.py", "app-x-2.py", "one")
