"""The kata contract: every kata in the course keeps the promises of DESIGN.md.

- its files are all there, and say what they must;
- as shipped it fails, in the test the contract names, with the diagnosis it teaches;
- every other correct fix in tests/contract/<kata>/fix_*.py passes;
- every wrong fix in tests/contract/<kata>/wrong_*.py fails, in the test its contract names;
- no verdict changes with the machine's core count: each variant runs as on one core, and again
  as on 2 and on 64 if anything in it asked how many cores there are.

That each reference solution passes is checked by the kata runs of `pytest --solutions`.
Each variant (the shipped app, one fix, one wrong fix) is one test here, running the kata's
tests in a pytest session of its own.
"""

from __future__ import annotations

import re

import pytest
from contract_runner import INCONCLUSIVE_HEAD, MOST_RUNS, ROOT, load_contract, run_on_any_machine

from fastapi_async_katas.course.hints import read_hints
from fastapi_async_katas.course.listing import load_course

pytestmark = [
    # A variant runs several kata tests, each with its own timeout.
    pytest.mark.timeout(120),
    # Wrong fixes leave coroutines never awaited on purpose (kata 02's lesson, a coroutine handed
    # to `add_task`); Python warns when one is collected, which may be during a later variant.
    pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning"),
]

COURSE = load_course(ROOT)
KATA_FILES = {"README.md", "app.py", "test_kata.py", "hints.md"}
IGNORED = {"__pycache__", ".pytest_cache"}


CONTRACTS = [c for c in (load_contract(k.folder) for k in COURSE) if c is not None]
SHIPPED = [pytest.param(c.shipped_variant(), id=c.folder) for c in CONTRACTS]
FIXES = [pytest.param(v, id=v.name) for c in CONTRACTS for v in c.fix_variants()]
WRONGS = [pytest.param(v, id=v.name) for c in CONTRACTS for v in c.wrong_variants()]


@pytest.mark.parametrize("kata", COURSE, ids=lambda k: k.folder)
def test_every_kata_has_its_files_and_no_others(kata):
    folder = ROOT / "katas" / kata.folder
    present = {p.name for p in folder.iterdir() if p.name not in IGNORED} if folder.is_dir() else set()
    assert present == KATA_FILES, f"katas/{kata.folder} should hold exactly {sorted(KATA_FILES)}, holds {sorted(present)}"
    assert "TODO" in (folder / "app.py").read_text(), f"katas/{kata.folder}/app.py marks no place to edit with TODO"
    assert "Do not edit" in (folder / "test_kata.py").read_text(), f"katas/{kata.folder}/test_kata.py must say not to edit it"
    levels = [h.level for h in read_hints(folder)]
    assert 2 <= len(levels) <= 4 and levels == list(range(1, len(levels) + 1)), f"hints levels: {levels}"
    readme = (folder / "README.md").read_text()
    assert re.search(r"^1\. ", readme, re.M), f"katas/{kata.folder}/README.md has no numbered tasks"


@pytest.mark.parametrize("kata", COURSE, ids=lambda k: k.folder)
def test_every_kata_has_a_solution_that_says_why(kata):
    solution = ROOT / "solutions" / kata.folder / "app.py"
    assert solution.is_file(), f"solutions/{kata.folder}/app.py is missing"
    assert solution.read_text().count("Why this works:") == 1, "the solution explains its fix in one 'Why this works:' comment"


@pytest.mark.parametrize("kata", COURSE, ids=lambda k: k.folder)
def test_every_kata_has_a_contract_with_two_fixes_and_two_wrong_fixes(kata):
    contract = load_contract(kata.folder)
    assert contract is not None, f"tests/contract/{kata.folder}/contract.toml is missing"
    assert contract.failing_test and contract.diagnosis, "contract.toml names failing_test and its diagnosis"
    assert len(contract.fixes) >= 2, f"tests/contract/{kata.folder} needs at least two fix_*.py"
    assert len(contract.wrongs) >= 2, f"tests/contract/{kata.folder} needs at least two wrong_*.py"
    unknown = set(contract.wrong) - {p.stem for p in contract.wrongs}
    assert not unknown, f"contract.toml describes wrong fixes that do not exist: {sorted(unknown)}"
    unknown = set(contract.fix) - {p.stem for p in contract.fixes}
    assert not unknown, f"contract.toml describes fixes that do not exist: {sorted(unknown)}"


@pytest.mark.parametrize("variant", SHIPPED)
def test_the_shipped_kata_fails_for_its_intended_reason(variant):
    result = run_on_any_machine(variant)
    assert not result.error, result.error
    assert result.failed(variant.test), f"as shipped, {variant.test} should fail; outcomes: {result.outcomes}"
    output = result.output[variant.test]
    missing = [d for d in variant.diagnosis if d not in output]
    skip_if_only_too_busy(result, variant, missing)
    assert not missing, f"the failure output lacks {missing}:\n{output}"


@pytest.mark.parametrize("variant", FIXES)
def test_a_correct_fix_passes(variant):
    result = run_on_any_machine(variant)
    assert not result.error, result.error
    if result.only_inconclusive:
        # Never passed on a guess: the machine stayed too busy to judge, in every run of it.
        pytest.skip(f"{variant.name}: {INCONCLUSIVE_HEAD}, in {MOST_RUNS} runs")
    assert result.all_passed, f"{variant.name} should pass every test; outcomes: {result.outcomes}\n" + "\n".join(result.output.values())
    notes = "\n".join(result.notes)
    if variant.note:
        missing = [n for n in variant.note if n not in notes]
        assert not missing, f"{variant.name} passed, but its 'passed, but…' note lacks {missing}: {result.notes}"
    else:
        assert not result.notes, f"{variant.name} is a good fix, yet it got a 'passed, but…' note: {result.notes}"


# A wrong fix may leave threads that fail once its loop has closed (aiosqlite's, on a loop the fix
# ran itself): that is the wrong fix's doing; what this test checks is its verdict.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("variant", WRONGS)
def test_a_wrong_fix_fails(variant):
    result = run_on_any_machine(variant)
    assert not result.error, result.error
    named = f": is there a {variant.test} in test_kata.py?" if variant.test else ""
    assert result.outcomes, f"{variant.name} ran no test{named}"
    failed = [name for name, outcome in result.outcomes.items() if outcome == "failed"]
    assert failed, f"{variant.name} should fail, but every test passed: {result.outcomes}"
    output = "\n".join(result.output.values())
    missing = [d for d in variant.diagnosis if d not in output]
    skip_if_only_too_busy(result, variant, missing)
    assert not missing, f"{variant.name} failed, but its output lacks {missing}:\n{output}"


def skip_if_only_too_busy(result, variant, missing: list[str]) -> None:
    """A failure that was only ever "too busy to judge" may stop at an earlier check (a latency)
    than the one whose diagnosis the contract names: not judged, rather than failed."""
    if missing and result.only_inconclusive:
        pytest.skip(f"{variant.name}: {INCONCLUSIVE_HEAD}, in {MOST_RUNS} runs; the diagnosis was not reached")
