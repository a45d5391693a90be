"""``takedown sources validate`` and ``takedown crawl``: check a sources file; run one crawl cycle on the running
local stack and say what was found and what was refused."""

from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING, Any, TextIO

from takedown.aws.clients import client
from takedown.aws.crawl_state import CrawlState
from takedown.config import ENV_CRAWL_TABLE, ENV_SOURCES_FILE
from takedown.crawl.sources import SourceError, load_sources
from takedown.deployment_target import NoDeploymentError, resolve_target
from takedown.model import iso_utc, utc_now

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from pathlib import Path


def validate_sources(path: Path, *, out: TextIO | None = None) -> int:
    """Print whether the sources file is valid (to ``out``, default stdout); 0 if it is, 1 if not."""
    try:
        sources = load_sources(path)
    except (SourceError, OSError, ValueError) as error:
        print(f"{path}: invalid: {error}", file=sys.stderr)
        return 1
    kinds: dict[str, int] = {}
    for source in sources:
        kinds[source.kind] = kinds.get(source.kind, 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    seeds = sum(len(s.seeds) for s in sources)
    print(f"{path}: {len(sources)} sources valid ({summary}); {seeds} seed URLs", file=out or sys.stdout)
    return 0


def _deploy_sources_locally(state: dict[str, Any], sources_file: Path) -> None:
    """Point the local stack's functions at this sources file, as ``cdk deploy`` with it would."""
    lambda_client = client("lambda")
    for name, environment in state["environment"].items():
        if ENV_SOURCES_FILE in environment:
            environment[ENV_SOURCES_FILE] = str(sources_file.resolve())
            lambda_client.update_function_configuration(
                FunctionName=name, Environment={"Variables": environment}
            )


def _progress(
    crawl_table: str,
    source_ids: list[str],
    started: datetime,
    stop: threading.Event,
    say: Callable[[str], None],
) -> None:
    state = CrawlState(crawl_table)
    while not stop.wait(2.0):
        media = len(state.media_outcomes(since=started))
        refused = sum(len(state.refusals(s, since=iso_utc(started))) for s in source_ids)
        say(f"  ... {media} media hashed, {refused} refusals so far")


def run_crawl(sources_file: Path, *, as_json: bool) -> int:
    """One crawl cycle on the running local stack."""
    if validate_sources(sources_file, out=sys.stderr) != 0:
        return 1
    from takedown.local.server import read_state

    try:
        target = resolve_target()
    except NoDeploymentError as error:
        print(f"takedown crawl: {error}", file=sys.stderr)
        return 1
    state = read_state()
    assert state is not None
    _deploy_sources_locally(state, sources_file)
    sources = load_sources(sources_file)
    source_ids = [s.id for s in sources]
    crawl_table = next(e[ENV_CRAWL_TABLE] for e in state["environment"].values() if ENV_CRAWL_TABLE in e)
    crawl_state = CrawlState(crawl_table)
    started = utc_now()
    since = iso_utc(started)
    stop = threading.Event()
    ticker = threading.Thread(
        target=_progress,
        args=(crawl_table, source_ids, started, stop, lambda m: print(m, file=sys.stderr)),
        daemon=True,
    )
    ticker.start()
    try:
        response = client("lambda").invoke(
            FunctionName=state["functions"]["handle_dispatch_crawl"], Payload=json.dumps({}).encode("utf-8")
        )
        dispatched = json.loads(response["Payload"].read() or b"{}")
    finally:
        stop.set()
    if response.get("FunctionError"):
        print(f"takedown crawl: the dispatcher failed: {dispatched.get('errorMessage')}", file=sys.stderr)
        return 1
    found = crawl_state.media_outcomes(since=started)
    refused = [dict(r, source_id=s) for s in source_ids for r in crawl_state.refusals(s, since=since)]
    if as_json:
        for outcome in found:
            print(json.dumps({"type": "media", **outcome}, ensure_ascii=False))
        for refusal in refused:
            print(json.dumps({"type": "refusal", **refusal}, ensure_ascii=False))
        return 0
    print(
        f"crawl of {target.name}: {dispatched.get('pages_enqueued', 0)} seed pages from {len(sources)} sources"
        f" (cycle {dispatched.get('cycle', '?')})"
    )
    print(
        f"  media found and hashed: {len(found)} "
        f"({sum(1 for o in found if o['outcome'] == 'CANDIDATE')} candidates, "
        f"{sum(1 for o in found if o['outcome'] == 'NO_MATCH')} no match, "
        f"{sum(1 for o in found if o['outcome'] == 'REJECTED')} refused media)"
    )
    print(f"  refusals: {len(refused)}")
    for refusal in refused:
        print(f"    {refusal['reason']:<24} {refusal['url']}")
    return 0
