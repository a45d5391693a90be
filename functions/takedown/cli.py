"""The ``takedown`` command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _demo(args: argparse.Namespace) -> int:
    from takedown.demo.after_notice import AfterNoticeError
    from takedown.demo.run import run_demo

    try:
        summary = run_demo(wait_for_review=args.wait_for_review, out_dir=args.out)
    except AfterNoticeError as error:
        print(f"demo failed after the notices: {error}", file=sys.stderr)
        return 1
    if summary.sent < 1:
        print("demo failed: no notice was sent", file=sys.stderr)
        return 1
    if summary.unrelated_left_alone != summary.unrelated_total:
        print("demo failed: an unrelated image was treated as a match", file=sys.stderr)
        return 1
    return 0


def _local(args: argparse.Namespace) -> int:
    from takedown.local import server

    if args.action == "up":
        state = server.up(port=args.port, config=args.config)
        print(f"local stack up (pid {state['pid']})")
        print(f"  AWS endpoint:  export AWS_ENDPOINT_URL={state['endpoint']}")
        print(f"  review API:    {state['api_url']}")
        for key, value in sorted(state["outputs"].items()):
            print(f"  {key}: {value}")
        return 0
    if args.action == "down":
        print("local stack stopped" if server.down() else "no local stack was running")
        return 0
    current = server.read_state()
    print(json.dumps(current, indent=1) if current else "no local stack is running")
    return 0 if current else 1


def _sources(args: argparse.Namespace) -> int:
    from takedown.commands.crawl import validate_sources

    return validate_sources(args.file)


def _crawl(args: argparse.Namespace) -> int:
    from takedown.commands.crawl import run_crawl

    return run_crawl(args.sources, as_json=args.json)


def _bank(args: argparse.Namespace) -> int:
    from takedown.commands import bank

    if args.bank_command == "add":
        return bank.bank_add(args.paths, case_ref=args.case_ref, bank=args.bank, stack=args.stack)
    if args.bank_command == "import":
        return bank.bank_import(args.file, bank=args.bank, stack=args.stack)
    if args.bank_command == "disable":
        return bank.bank_disable(args.ids, stack=args.stack)
    return bank.bank_list(stack=args.stack)


def _hash(args: argparse.Namespace) -> int:
    from takedown.commands.hashes import hash_files

    return hash_files(args.paths)


def _match(args: argparse.Namespace) -> int:
    from takedown.commands.hashes import match_files

    return match_files(args.paths, stack=args.stack)


def _report(args: argparse.Namespace) -> int:
    from takedown.commands.report import run_report

    return run_report(stack=args.stack, as_json=args.json, chart=args.chart)


def _add_bank_commands(commands: Any) -> None:
    stack_help = "a deployed CloudFormation stack (default: the running local stack)"
    bank = commands.add_parser("bank", help="the centre's hash bank: only hashes leave this machine")
    bank.set_defaults(run=_bank)
    actions = bank.add_subparsers(dest="bank_command", required=True)
    add = actions.add_parser("add", help="hash files here and upload their hashes")
    add.add_argument("--case-ref", required=True, help="the centre's own reference (never a name)")
    add.add_argument("--bank", default="centre")
    add.add_argument("--stack", help=stack_help)
    add.add_argument("paths", nargs="+", type=Path)
    imported = actions.add_parser(
        "import", help="import a hash list: CSV of algorithm,hash[,quality[,label]]"
    )
    imported.add_argument("file", type=Path)
    imported.add_argument("--bank", default="imported")
    imported.add_argument("--stack", help=stack_help)
    disable = actions.add_parser("disable", help="disable items (by item id or by group id)")
    disable.add_argument("ids", nargs="+")
    disable.add_argument("--stack", help=stack_help)
    listing = actions.add_parser("list", help="print every item as a JSON line")
    listing.add_argument("--stack", help=stack_help)
    hashing = commands.add_parser(
        "hash", help="print the hashes of files as JSON lines (nothing is uploaded)"
    )
    hashing.add_argument("paths", nargs="+", type=Path)
    hashing.set_defaults(run=_hash)
    match = commands.add_parser("match", help="match files against the bank; JSON lines with the evidence")
    match.add_argument("paths", nargs="+", type=Path)
    match.add_argument("--stack", help=stack_help)
    match.set_defaults(run=_match)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="takedown", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run the whole pipeline locally against a generated loopback site"
    )
    demo.add_argument(
        "--wait-for-review", action="store_true", help="stop and wait for a human to click the link"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("demo-out"), help="where to write the sent messages (.eml)"
    )
    demo.set_defaults(run=_demo)
    local = commands.add_parser("local", help="the local stack as a server (moto on 127.0.0.1)")
    local.add_argument("action", choices=["up", "down", "status"])
    local.add_argument("--port", type=int, default=4566)
    local.add_argument("--config", type=Path, help="deployment config (default config/deployment.json)")
    local.set_defaults(run=_local)
    sources = commands.add_parser("sources", help="work with sources files")
    sources.add_argument("action", choices=["validate"])
    sources.add_argument("file", type=Path)
    sources.set_defaults(run=_sources)
    crawl = commands.add_parser("crawl", help="run one crawl cycle on the running local stack")
    crawl.add_argument("--sources", type=Path, required=True, help="the sources file to crawl")
    crawl.add_argument("--json", action="store_true", help="one JSON object per media item and per refusal")
    crawl.set_defaults(run=_crawl)
    _add_bank_commands(commands)
    report = commands.add_parser(
        "report", help="p50/p95 of each case interval, recipients' response times, chart"
    )
    report.add_argument("--stack", help="a deployed CloudFormation stack (default: the running local stack)")
    report.add_argument("--json", action="store_true", help="one JSON document instead of tables")
    report.add_argument(
        "--chart",
        type=Path,
        default=Path("takedown-report.png"),
        help="where to write the time-to-notice PNG",
    )
    report.set_defaults(run=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
