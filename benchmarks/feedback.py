"""How long a learner waits for a kata's verdict, against what pytest itself costs: side by side.

Three commands run in turn, for a few rounds, in one run:

- **bare**: pytest on one trivial test in an empty folder, which is what pytest itself costs here;
- **fastapi**: the same test in a file that imports FastAPI, which every kata's app does: the
  framework's share of a kata's run (a kata's run then spares itself the garbage collections
  at exit that this one still pays, see `pytest_plugin/ending.py`);
- **solved**: `pytest --solutions katas/01_blocking_db`, a solved kata;
- **failing**: kata 01 as shipped (`--kata-app=` its own app.py, so no progress is kept).

A first, untimed round lets Python compile and cache the modules, as a learner's first run
does. For each it prints the median wall time and CPU time (user + system of the pytest process). The
failing run also waits for the mistake itself: its bursts against an app that blocks the loop. Those
waits are the blocks its report measured; they are printed, and taken off its wall time.

    python benchmarks/feedback.py [--rounds 5] [--kata 01_blocking_db]

The course's aims: a solved kata within 2x a bare run; a failing one within its own waits plus 1.5x.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLVED_AIM, FAILING_AIM = 2.0, 1.5


# As on a learner's machine, Python keeps the modules it compiled: with PYTHONDONTWRITEBYTECODE
# set, every run would compile the plugin again and measure that instead.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def timed(args: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the child, and its exit status."""
    began = time.perf_counter()
    child = subprocess.Popen(args, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, child.returncode


def blocked_s(report: Path) -> float:
    """Seconds the failing run's loop was blocked by the kata's mistake, from its JSON report."""
    data = json.loads(report.read_text())
    return sum(block["wall_ms"] for kata in data["katas"] for test in kata["tests"]
               for burst in test["measured"] for block in burst["blocks"]) / 1000


def spread(ratios: list[float]) -> str:
    return f"median {statistics.median(ratios):.2f}x, from {min(ratios):.2f}x to {max(ratios):.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kata", default="01_blocking_db")
    options = parser.parse_args()
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    kata = f"katas/{options.kata}"
    with tempfile.TemporaryDirectory() as scratch:
        bare_dir = Path(scratch) / "bare"
        bare_dir.mkdir()
        (bare_dir / "test_one.py").write_text("def test_one():\n    pass\n")
        fastapi_dir = Path(scratch) / "fastapi"
        fastapi_dir.mkdir()
        (fastapi_dir / "test_one.py").write_text("import fastapi\n\n\ndef test_one():\n    pass\n")
        report = Path(scratch) / "failing.json"
        commands = {
            "bare": (pytest + ["test_one.py"], bare_dir),
            "fastapi": (pytest + ["test_one.py"], fastapi_dir),
            "solved": (pytest + ["--solutions", kata], ROOT),
            "failing": (pytest + [kata, f"--kata-app={ROOT / kata / 'app.py'}", f"--kata-report={report}"], ROOT),
        }
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        waits: list[float] = []
        for round_ in range(options.rounds + 1):
            for name, (args, cwd) in commands.items():
                wall, cpu, status = timed(args, cwd)
                expected = 1 if name == "failing" else 0
                if status != expected:
                    sys.exit(f"{name}: pytest exited {status}, expected {expected}: {' '.join(args)}")
                if round_ == 0:
                    continue  # a first round compiles and caches: it is not timed
                walls[name].append(wall)
                cpus[name].append(cpu)
                if name == "failing":
                    waits.append(blocked_s(report))
    wall = {name: statistics.median(values) for name, values in walls.items()}
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    wait = statistics.median(waits)
    print(f"{options.rounds} rounds, medians; kata {options.kata}; {os.cpu_count()} cores")
    for name in commands:
        print(f"  {name:8} wall {wall[name]:6.2f} s   cpu {cpu[name]:6.2f} s")
    # Each round's own ratios too: the machine's speed drifts between rounds more than within one.
    solved_each = [s / b for s, b in zip(walls["solved"], walls["bare"])]
    failing_each = [(f - w) / b for f, w, b in zip(walls["failing"], waits, walls["bare"])]
    solved = wall["solved"] / wall["bare"]
    failing = (wall["failing"] - wait) / wall["bare"]
    print(f"solved:  {solved:.2f}x a bare run (wall), {cpu['solved'] / cpu['bare']:.2f}x (cpu); aim at most {SOLVED_AIM}x")
    print(f"         each round: {spread(solved_each)}")
    print(f"failing: {wait:.2f} s of the kata's own waits, plus {failing:.2f}x a bare run; aim at most {FAILING_AIM}x")
    print(f"         each round: {spread(failing_each)}")
    framework = wall["fastapi"] - wall["bare"]
    print(f"importing FastAPI alone: {framework:.2f} s, {wall['fastapi'] / wall['bare']:.2f}x a bare run")


if __name__ == "__main__":
    main()
