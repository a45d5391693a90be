"""``takedown local up`` / ``down``: the local stack as a long-running moto server on 127.0.0.1.

The server process runs moto's threaded server, installs the seam (handlers run inside it), provisions the stack
from the synthesized template and serves the approval API. It writes a state file that tells other processes where
to connect; ``AWS_ENDPOINT_URL`` set to the printed endpoint makes any boto3 script talk to it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from takedown.local.synth import REPO_ROOT


def _state_dir() -> Path:
    """Where the running server's state and log live (``TAKEDOWN_LOCAL_STATE_DIR``, default ``.takedown/``)."""
    return Path(os.environ.get("TAKEDOWN_LOCAL_STATE_DIR") or REPO_ROOT / ".takedown")


def state_file() -> Path:
    return _state_dir() / "local.json"


def log_file() -> Path:
    return _state_dir() / "local.log"


def read_state() -> dict[str, Any] | None:
    if not state_file().exists():
        return None
    state: dict[str, Any] = json.loads(state_file().read_text(encoding="utf-8"))
    return state


def serve(port: int, config: Path | None) -> None:
    """Run the server in this process until SIGTERM or SIGINT."""
    from takedown.local.environment import LOCAL_PROCESS_ENV

    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update({**LOCAL_PROCESS_ENV, "MOTO_PORT": str(port), "AWS_ENDPOINT_URL": endpoint})
    from moto.server import ThreadedMotoServer

    from takedown.local import seam
    from takedown.local.api_server import LocalApiServer
    from takedown.local.stack import LocalStack
    from takedown.local.synth import synthesize

    template, cdk_out = synthesize(config)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    requests.post(
        f"{endpoint}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=10
    )
    seam.install()
    api = LocalApiServer().start()
    resources = LocalStack(template, cdk_out).provision(api_base_url=api.base_url)
    api.routes = resources.routes
    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "endpoint": endpoint,
                "api_url": api.base_url,
                "outputs": resources.outputs,
                "functions": resources.functions,
                "environment": resources.environment,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"local stack up: endpoint {endpoint}, review API {api.base_url}", flush=True)
    stop.wait()
    api.close()
    server.stop()
    state_file().unlink(missing_ok=True)


def up(port: int = 4566, config: Path | None = None, timeout: float = 180.0) -> dict[str, Any]:
    """Start the server in the background and wait until it has provisioned the stack."""
    state = read_state()
    if state and _alive(int(state["pid"])):
        return state
    state_file().unlink(missing_ok=True)
    log_file().parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "takedown.local.server", "--port", str(port)]
    if config:
        command += ["--config", str(config)]
    with log_file().open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True, cwd=REPO_ROOT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state()
        if state:
            return state
        if process.poll() is not None:
            raise RuntimeError(f"the local stack exited with {process.returncode}; see {log_file()}")
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"the local stack did not come up within {timeout:.0f} s; see {log_file()}")


def down(timeout: float = 20.0) -> bool:
    """Stop the background server. False if none was running."""
    state = read_state()
    if not state:
        return False
    pid = int(state["pid"])
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    state_file().unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child of ours counts as gone
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m takedown.local.server")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--config", type=Path)
    arguments = parser.parse_args()
    serve(arguments.port, arguments.config)
