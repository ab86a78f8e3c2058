"""The servers of `katas bench`: each app served by uvicorn in a process of its own, with its world.

The process runs this module: `python -m fastapi_async_katas.commands.benchserver --serve APP --data DIR`.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

HOST = "127.0.0.1"
START_TIMEOUT_S = 20.0
# A server still busy (with requests that hang, say) this long after Ctrl-C is killed.
STOP_GRACE_S = 1.0
DATABASE, CATALOG = "database", "catalog"


class AppServer:
    """One app served by uvicorn in a process of its own: started at once, waited for when needed."""

    def __init__(self, app: Path, world: tuple[str, ...], env: dict[str, str], tmp: Path) -> None:
        self.app = app
        command = [sys.executable, "-m", __name__, "--serve", str(app), "--data", str(tmp), *[f"--world={w}" for w in world]]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True, cwd=app.parent)

    def __enter__(self) -> "AppServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_until_up(self) -> str:
        """The server's base URL, once it answers."""
        process = self.process
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            _, err = process.communicate(timeout=10)
            raise BenchError(f"{self.app} did not start: {err.strip()[-2000:] or 'no output'}")
        base_url = f"http://{HOST}:{int(line)}"
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise BenchError(f"the server exited with status {process.returncode}: {process.stderr.read() if process.stderr else ''}")
                try:
                    client.get(base_url + "/")
                    return base_url
                except httpx.HTTPError:
                    time.sleep(0.05)
        raise BenchError(f"the server at {base_url} did not answer within {START_TIMEOUT_S:g} s")

    def stop(self) -> None:
        process = self.process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class BenchError(Exception):
    """An app could not be served."""


def start_catalog(stack: ExitStack) -> dict[str, str]:
    """The catalogue service in this process (it only sleeps), its URL for the server's env."""
    from fastapi_async_katas.world.upstream import CATALOG_ENV_VAR, Catalog

    catalog = Catalog()
    catalog.start()
    stack.callback(catalog.stop)
    return {CATALOG_ENV_VAR: catalog.url, "NO_PROXY": HOST, "no_proxy": HOST}


def serve_main(argv: list[str]) -> int:
    """In the server process: set up the world, bind a free port, print it, serve the app."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--world", action="append", default=[])
    args = parser.parse_args(argv)
    import uvicorn

    from fastapi_async_katas.engine.loading import KataLoadError, load_app
    from fastapi_async_katas.world.database import ENV_VAR, Database

    with ExitStack() as stack:
        if DATABASE in args.world:
            folder = Path(tempfile.mkdtemp(prefix="db-", dir=args.data))
            database = Database(folder / "shop.db")
            stack.enter_context(database.installed())
            os.environ[ENV_VAR] = str(database.path)
        try:
            app = load_app(Path(args.serve), "bench_app")
        except KataLoadError as exc:
            print(exc, file=sys.stderr)
            return 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        print(sock.getsockname()[1], flush=True)
        config = uvicorn.Config(app, log_level="warning", access_log=False, backlog=2048)
        uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(serve_main(sys.argv[1:]))
