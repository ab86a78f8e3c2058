"""The instructor's workflow runs a student's code, so it must hand that code no key to the course."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKFLOW = Path(__file__).resolve().parent.parent / "docs" / "instructor-ci.yml"


def zizmor() -> str:
    # The venv running pytest first: its bin/ is not on PATH unless the venv was activated.
    found = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    if found is None:
        pytest.skip("zizmor is not installed: pip install -e '.[test]'")
    return found


def test_the_instructor_workflow_has_no_zizmor_finding() -> None:
    # --no-config: instructors copy the file alone, so no config of ours may silence a finding.
    run = subprocess.run(
        [zizmor(), "--offline", "--no-config", "--no-exit-codes", "--no-progress", "--format=json", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    findings = [(finding["ident"], finding["desc"]) for finding in json.loads(run.stdout)]
    assert findings == []


def test_every_checkout_in_the_instructor_workflow_leaves_no_token_in_git_config() -> None:
    steps = re.split(r"\n\s*- ", WORKFLOW.read_text(encoding="utf-8"))
    checkouts = [step for step in steps if re.search(r"uses:\s*actions/checkout@", step)]
    assert checkouts
    for step in checkouts:
        assert re.search(r"^\s*persist-credentials:\s*false\b", step, re.MULTILINE), step
