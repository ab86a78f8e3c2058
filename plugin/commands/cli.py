"""The `katas` command, for what does not fit inside a pytest run.

Each subcommand lives in its own module with a `main(argv: list[str], prog: str) -> int`; this
module only picks the module, so one command's imports never slow down another's.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("fastapi_async_katas.commands.listing", "show the course with your progress, and the next step (the default)"),
    "reset": ("fastapi_async_katas.commands.reset", "restore a kata's shipped app.py, keeping a backup of yours"),
    "watch": ("fastapi_async_katas.commands.watch", "re-run the current kata on every save, and move on when it passes"),
    "probe": ("fastapi_async_katas.commands.probe", "fire concurrent requests at any FastAPI app and show what blocked its event loop"),
    "bench": ("fastapi_async_katas.commands.bench", "serve a kata's shipped, current and solved app on uvicorn and compare their speed"),
    "hard": ("fastapi_async_katas.commands.hard", "take the course the hard way (no TODOs, tasks reduced to the goal), or back"),
}

# A Ctrl-C that the command itself did not handle (while it was still being imported, say).
INTERRUPTED = "katas {command}: interrupted (Ctrl-C)"


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: katas [COMMAND] [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run `katas COMMAND --help` for a command's options. Work a kata with `pytest katas/01`."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(usage())
        return 0
    command = args.pop(0) if args and not args[0].startswith("-") else "list"
    if command not in COMMANDS:
        print(f"katas: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(COMMANDS[command][0])
        return int(module.main(args, prog=f"katas {command}") or 0)
    except KeyboardInterrupt:  # a command that reports what Ctrl-C left it with handles it itself
        print(INTERRUPTED.format(command=command), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
