"""``mlflows run FILE.yaml`` and ``mlflows cache list|prune|clear``."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from rich.table import Table

from mlflows.duration import format_duration, parse_go_duration
from mlflows.errors import UserError
from mlflows.local.controller.memo import InvalidCacheKey, MemoCache, default_cache_dir
from mlflows.local.runner import DEFAULT_WORK_DIR, add_arguments, run_from_args
from mlflows.local.view import make_console


def register(subparsers) -> None:
    run = subparsers.add_parser(
        "run",
        help="run a Workflow YAML file on this machine with Argo's semantics",
        description="Run an Argo Workflow locally: processes instead of pods, same DAG, retry, "
        "memoization and exit-handler semantics. Exit code 0 only if it succeeded.",
    )
    run.add_argument("file", type=Path, help="the Workflow YAML file")
    run.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a workflow parameter (repeatable)",
    )
    run.add_argument(
        "--namespace",
        help="the value of {{workflow.namespace}} (default: the workflow's, else 'default')",
    )
    add_arguments(run)
    run.set_defaults(func=_run)

    cache = subparsers.add_parser(
        "cache",
        help="list or prune the local memoization cache",
        description="The memoization cache local runs share, one folder per cache where Argo "
        "keeps one ConfigMap: list its entries, prune the stale ones, or clear it.",
    )
    actions = cache.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="list entries with their age and last hit",
        description="List every cache entry: its cache, key, age, last hit and outputs.",
    )
    prune = actions.add_parser(
        "prune",
        help="delete entries not hit for a while",
        description="Delete the entries whose last hit is older than --older-than.",
    )
    prune.add_argument(
        "--older-than",
        required=True,
        metavar="AGE",
        help="delete entries whose last hit is older than AGE (e.g. 12h, 7d)",
    )
    clear = actions.add_parser(
        "clear",
        help="delete all entries (or one cache's)",
        description="Delete every entry, or only those of --cache: later runs miss and run "
        "their memoized steps again.",
    )
    clear.add_argument("--cache", metavar="NAME", help="only this cache (its ConfigMap name)")
    for action, handler in ((listing, _list), (prune, _prune), (clear, _clear)):
        action.add_argument(
            "--work-dir",
            type=Path,
            default=DEFAULT_WORK_DIR,
            help="the runs' work directory, whose cache it is (default %(default)s)",
        )
        action.add_argument(
            "--cache-dir", type=Path, help="the cache directory (default: WORK_DIR/cache)"
        )
        action.set_defaults(func=handler)


def _parameters(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UserError(f"-p {pair!r}: write parameters as NAME=VALUE")
        values[name] = value
    return values


def _run(args: argparse.Namespace) -> int:
    return run_from_args(args.file, args, _parameters(args.parameter)).exit_code


def _cache_dir(args: argparse.Namespace) -> Path:
    return args.cache_dir or default_cache_dir(args.work_dir)


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def _list(args: argparse.Namespace) -> int:
    cache_dir = _cache_dir(args)
    entries = MemoCache(cache_dir, warn=_warn).entries()
    console = make_console()
    if not entries:
        console.print(f"no memo entries in {cache_dir}")
        return 0
    table = Table(box=None, pad_edge=False)
    for column in ("CACHE", "KEY", "CREATED", "AGE", "LAST HIT", "OUTPUTS"):
        table.add_column(column)
    now = time.time()
    for entry in entries:
        table.add_row(
            entry.cache_name,
            entry.key,
            datetime.fromtimestamp(entry.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            format_duration(now - entry.created_at),
            f"{format_duration(now - entry.last_hit_at)} ago",
            ", ".join(entry.outputs.parameters) or ("result" if entry.outputs.result else "-"),
        )
    console.print(table)
    return 0


def _prune(args: argparse.Namespace) -> int:
    try:
        older_than = parse_go_duration(args.older_than, allow_days=True)
    except ValueError:
        older_than = -1.0
    if older_than < 0:  # a negative age would put the cut-off in the future: every entry
        raise UserError(f"--older-than {args.older_than!r}: give an age such as 30m, 12h or 7d")
    removed = MemoCache(_cache_dir(args), warn=_warn).prune(older_than)
    for entry in removed:
        print(f"removed {entry.cache_name}/{entry.key}")
    print(f"{len(removed)} entries not hit for {args.older_than} removed")
    return 0


def _clear(args: argparse.Namespace) -> int:
    memo = MemoCache(_cache_dir(args))
    try:
        count = memo.clear(args.cache)
    except InvalidCacheKey as err:
        raise UserError(f"--cache: {err}") from None
    if args.cache and not count:  # a typo must not read as "done"
        caches = ", ".join(memo.caches()) or "none"
        raise UserError(f"--cache {args.cache!r}: no such cache in {memo.root} (caches: {caches})")
    print(f"{count} entries removed")
    return 0
