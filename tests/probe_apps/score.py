"""Score `katas probe` on the apps in this folder: blocking ones found and blamed, clean ones left alone.

    python tests/probe_apps/score.py              # every app, 20 requests each
    python tests/probe_apps/score.py --hog 2      # with two CPU-bound processes running meanwhile
    python tests/probe_apps/score.py -k json -n 5 # only apps whose name contains "json"

Each app is probed in its own `katas probe ... --json` process, as a user would run it. A
blocking app scores when every block the probe reports is on the `# BLOCKS: kind` line with
that kind; a clean app scores when the probe reports no block at all.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARKER = re.compile(r"#\s*BLOCKS:\s*(io|cpu|gil)")
REQUEST = re.compile(r"^# probe: (\w+) (\S+)$", re.M)
HOG = "while True: pass"


def targets() -> list[tuple[str, str, Path]]:
    """(name, TARGET, folder to run in) for each app; packages are probed both ways."""
    found = [(p.stem, p.name, HERE) for p in sorted(HERE.glob("*.py")) if p.stem.split("_")[0] in ("blocking", "clean", "gil")]
    for package in sorted(p.parent for p in HERE.glob("*/main.py")):
        found.append((f"{package.name} (module)", f"{package.name}.main:app", HERE))
        found.append((f"{package.name} (file)", str(package / "main.py"), Path("/")))
    return found


def expected_block(name: str) -> tuple[str, int, str] | None:
    stem = name.split(" ")[0]
    files = sorted((HERE / stem).rglob("*.py")) if (HERE / stem).is_dir() else [HERE / f"{stem}.py"]
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = MARKER.search(line)
            if match:
                return str(path), number, match[1]
    return None


def request_of(name: str) -> tuple[str, str]:
    """The request to probe with: `# probe: METHOD PATH` in the app's file, else GET /."""
    path = HERE / f"{name.split(' ')[0]}.py"
    match = REQUEST.search(path.read_text()) if path.is_file() else None
    return (match[1], match[2]) if match else ("GET", "/")


def probe(target: str, cwd: Path, n: int, request: tuple[str, str]) -> dict:
    command = [sys.executable, "-m", "fastapi_async_katas.commands.cli", "probe", target, *request, "-n", str(n), "--json"]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=_env(), timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(HERE.parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def score(name: str, data: dict, cwd: Path) -> tuple[str, list[str]]:
    """A verdict (`ok` or what went wrong) and the blamed places, for one probed app (probed
    from `cwd`: the JSON's paths are relative to it)."""
    blocks = data["blocks"]
    places = sorted({f"{Path(b['file']).name}:{b['line']} {b['kind']}" for b in blocks})
    expected = expected_block(name)
    if expected is None:
        return ("ok" if not blocks else "FALSE POSITIVE"), places
    file, line, kind = expected
    if not blocks:
        return "MISSED", places
    if any((cwd / b["file"]).resolve() != Path(file) or b["line"] != line for b in blocks):
        return "WRONG LINE", places
    if any(b["kind"] != kind for b in blocks):
        return "WRONG KIND", places
    return "ok", places


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="requests per app (default: 20)")
    parser.add_argument("-k", default="", help="only apps whose name contains this")
    parser.add_argument("--hog", type=int, default=0, metavar="K", help="run K CPU-bound processes meanwhile")
    parser.add_argument("--repeat", type=int, default=1, help="probe each app this many times")
    args = parser.parse_args()
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(args.hog)]
    tally = {"blocking": [0, 0], "clean": [0, 0]}
    try:
        for name, target, cwd in targets():
            if args.k not in name:
                continue
            group = "blocking" if expected_block(name) else "clean"
            for _ in range(args.repeat):
                began = time.perf_counter()
                try:
                    verdict, places = score(name, probe(target, cwd, args.n, request_of(name)), Path(cwd))
                except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                    verdict, places = f"ERROR {exc}", []
                tally[group][0] += verdict == "ok"
                tally[group][1] += 1
                took = time.perf_counter() - began
                print(f"{verdict:<15} {name:<42} {took:5.1f} s  {', '.join(places)}", flush=True)
    finally:
        for hog in hogs:
            hog.kill()
    for group, (ok, total) in tally.items():
        print(f"{group}: {ok} of {total} right")
    return 0 if all(ok == total for ok, total in tally.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
