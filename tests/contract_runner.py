"""Run kata variants (the shipped app, other correct fixes, wrong fixes) in worker processes.

A variant is one kata's tests run against one app file. Each worker is a single Python
process that runs pytest in-process once per variant, so imports are paid once per worker
rather than once per variant. Workers run in parallel and take variants from one shared list.

Usage as a worker: python tests/contract_runner.py SPEC.json RESULTS.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKER_TIMEOUT_S = 300


@dataclass
class Variant:
    """One kata run against one app file."""

    name: str
    kata_dir: str
    app: str
    test: str = ""


@dataclass
class VariantResult:
    exit_code: int = -1
    outcomes: dict[str, str] = field(default_factory=dict)
    output: dict[str, str] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    def failed(self, test: str) -> bool:
        return self.outcomes.get(test) == "failed"

    @property
    def all_passed(self) -> bool:
        return self.exit_code == 0 and bool(self.outcomes) and all(o == "passed" for o in self.outcomes.values())


class _Collector:
    """A pytest plugin object that keeps each test's outcome and failure text."""

    def __init__(self) -> None:
        self.result = VariantResult()

    def pytest_runtest_logreport(self, report: Any) -> None:
        name = report.nodeid.split("::")[-1]
        if report.when == "call" or report.failed:
            if report.failed or name not in self.result.outcomes:
                self.result.outcomes[name] = report.outcome
            if report.failed:
                self.result.output[name] = self.result.output.get(name, "") + str(report.longrepr)


def _run_in_process(variant: Variant) -> VariantResult:
    import pytest

    collector = _Collector()
    target = f"{variant.kata_dir}/test_kata.py::{variant.test}" if variant.test else variant.kata_dir
    args = [target, f"--kata-app={variant.app}", "-q", "-p", "no:cacheprovider", "--color=no"]
    try:
        collector.result.exit_code = int(pytest.main(args, plugins=[collector]))
    except BaseException as exc:  # a crashing variant must not take the others down
        collector.result.error = f"{type(exc).__name__}: {exc}"
    return collector.result


def _worker(spec_path: str, results_path: str) -> None:
    import gc

    import fastapi  # noqa: F401  (imported once, before the freeze below)
    import pytest  # noqa: F401

    os.chdir(ROOT)
    # Every run collects garbage several times; frozen, the imported modules are not rescanned.
    gc.freeze()
    variants = [Variant(**v) for v in json.loads(Path(spec_path).read_text())]
    claims = Path(spec_path).parent
    results = {}
    devnull = open(os.devnull, "w")
    for i, variant in enumerate(variants):
        # Workers share one list; whoever creates a variant's claim file first runs it.
        try:
            os.close(os.open(claims / f"claim-{i}", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            continue
        started = time.perf_counter()
        stdout = sys.stdout
        sys.stdout = devnull
        try:
            result = _run_in_process(variant)
        finally:
            sys.stdout = stdout
        result.seconds = round(time.perf_counter() - started, 2)
        results[variant.name] = asdict(result)
        Path(results_path).write_text(json.dumps(results))


@dataclass
class Contract:
    """What tests/contract/<folder>/contract.toml says about one kata."""

    folder: str
    failing_test: str
    diagnosis: list[str]
    wrong: dict[str, dict[str, Any]]
    fixes: list[Path]
    wrongs: list[Path]

    @property
    def shipped(self) -> str:
        return f"{self.folder}/shipped"

    def variant_name(self, path: Path) -> str:
        return f"{self.folder}/{path.stem}"

    def variants(self) -> list[Variant]:
        kata_dir = f"katas/{self.folder}"
        # As shipped, only the test that must fail is run: the others may pass or fail.
        found = [Variant(self.shipped, kata_dir, str(ROOT / kata_dir / "app.py"), self.failing_test)]
        found += [Variant(self.variant_name(p), kata_dir, str(p)) for p in self.fixes + self.wrongs]
        return found


CONTRACT_DIR = ROOT / "tests" / "contract"


def load_contract(folder: str) -> Contract | None:
    """The contract of one kata, or None when its folder or contract.toml is missing."""
    import tomllib

    folder_path = CONTRACT_DIR / folder
    try:
        data = tomllib.loads((folder_path / "contract.toml").read_text(encoding="utf-8"))
    except OSError:
        return None
    return Contract(
        folder=folder,
        failing_test=str(data.get("failing_test", "")),
        diagnosis=[str(d) for d in data.get("diagnosis", [])],
        wrong=dict(data.get("wrong", {})),
        fixes=sorted(folder_path.glob("fix_*.py")),
        wrongs=sorted(folder_path.glob("wrong_*.py")),
    )


class ContractRun:
    """Start the workers now; `results()` waits for them."""

    def __init__(self, variants: list[Variant], jobs: int = 3) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="kata-contract-")
        self._procs: list[tuple[subprocess.Popen[bytes], Path]] = []
        spec = Path(self._dir.name) / "spec.json"
        spec.write_text(json.dumps([asdict(v) for v in variants]))
        for i in range(min(jobs, len(variants))):
            out = Path(self._dir.name) / f"results{i}.json"
            proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), str(spec), str(out)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            self._procs.append((proc, out))
        self._results: dict[str, VariantResult] | None = None

    def results(self) -> dict[str, VariantResult]:
        if self._results is None:
            merged: dict[str, VariantResult] = {}
            for proc, out in self._procs:
                try:
                    _, stderr = proc.communicate(timeout=WORKER_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    _, stderr = proc.communicate()
                data = json.loads(out.read_text()) if out.exists() else {}
                merged.update({name: VariantResult(**r) for name, r in data.items()})
                if proc.returncode:
                    merged[f"_worker_{proc.pid}"] = VariantResult(error=stderr.decode(errors="replace")[-2000:])
            self._results = merged
            self._dir.cleanup()
        return self._results


if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2])
