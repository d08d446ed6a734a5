"""The ``connevo`` command line: thin commands over evolution and results.

Every command takes ``--store`` (default ``$CONNEVO_STORE``, else ``./connevo.db``): a file path
or an SQLAlchemy URL; ``ls``, ``status``, ``front`` and ``show`` take ``--server URL`` instead to
ask a running ``connevo serve`` (see ``service/client.py``). A
:class:`connevo.errors.ConnevoError` prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from connevo.collector import freeze_before_exit, freeze_long_lived_objects, hold_collections
from connevo.errors import ConnevoError, NotFoundError

LIST_COLUMNS = ["id", "name", "status", "generations_done", "candidates", "created_at", "stale"]
GENERATION_COLUMNS = ["generation", "evaluations", "best_val_accuracy", "front_size", "hypervolume"]
METRICS = ["status", "error", "generation", "seed", "train_accuracy", "val_accuracy", "test_accuracy",
           "train_loss", "val_loss", "test_loss", "connections", "params", "flops", "wiring_length",
           "depth", "hidden_nodes", "modularity", "train_val_gap", "train_test_gap", "epochs", "seconds"]


# ----- commands ------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from connevo.evolution.api import run
    from connevo.evolution.spec import load_spec
    from connevo.results.store import open_store
    from connevo.service.formatting import console as terminal
    from connevo.service.formatting import front_view, print_frame
    from connevo.service.progress import RichProgress
    from connevo.service.signals import GracefulTermination
    from connevo.service.supervised import SupervisorReport

    spec = load_spec(args.spec)
    overrides: dict[str, Any] = {}
    if args.workers is not None:
        overrides["workers.count"] = args.workers
    if args.ray_address is not None:
        overrides["workers.ray_address"] = args.ray_address
    if args.backend is not None:
        overrides["workers.backend"] = args.backend
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.time_limit is not None:
        overrides["evolution.time_limit"] = args.time_limit
    if overrides:
        spec = spec.with_overrides(**overrides)
    # closed before the process ends: its last connection folds the -wal file into the store and
    # removes it (the process freezes its objects, so nothing else would close them)
    with open_store(args.store) as store:
        console = terminal()
        termination = GracefulTermination()
        observers = [RichProgress(id_console=console), termination, SupervisorReport(), *_freezing(args)]
        result = run(spec, store, observers=observers)
        if termination.received:
            return _terminated(result.campaign_id)
        objectives = list(spec.objectives.names)
        front = result.front(objectives)
        console.print(f"\nPareto front of campaign {result.campaign_id} ({len(front)} candidates):", highlight=False)
        print_frame(console, front_view(front, objectives, kind=spec.task.kind))
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from connevo.evolution.api import CampaignResult
    from connevo.evolution.campaign import Campaign
    from connevo.results.store import open_store
    from connevo.service.formatting import console as terminal
    from connevo.service.formatting import front_view, print_frame
    from connevo.service.progress import RichProgress
    from connevo.service.signals import GracefulTermination
    from connevo.service.supervised import SupervisorReport

    with open_store(args.store) as store:  # closed before the process ends, as cmd_run's
        console = terminal()
        termination = GracefulTermination()
        observers = [RichProgress(id_console=console), termination, SupervisorReport(), *_freezing(args)]
        campaign = Campaign.from_store(store, args.campaign, observers=observers,
                                       generations=getattr(args, "generations", None))
        campaign.run()
        if termination.received:
            return _terminated(campaign.id)
        objectives = campaign.objectives
        front = CampaignResult(campaign.id, store).front(objectives)
        console.print(f"\nPareto front of campaign {campaign.id} ({len(front)} candidates):", highlight=False)
        print_frame(console, front_view(front, objectives, kind=campaign.spec.task.kind))
    return 0


def _freezing(args: argparse.Namespace) -> list[Any]:
    """The command line's own campaign process (``connevo.collector``): what is alive now frozen,
    and once more after the first generation; none for a program calling :func:`main` itself."""
    if not args.command_line:
        return []
    from connevo.service.freezing import FreezeAfterFirstGeneration

    freeze_long_lived_objects()
    return [FreezeAfterFirstGeneration()]


def _terminated(campaign_id: str) -> int:
    from connevo.service.signals import EXIT_TERMINATED

    print(f"connevo: terminated (SIGTERM): campaign {campaign_id} stopped; `connevo resume {campaign_id}` "
          "continues it", file=sys.stderr)
    return EXIT_TERMINATED


def cmd_compress(args: argparse.Namespace) -> int:
    from rich.table import Table

    from connevo.evolution.compress import PART_NAMES, TRAINED_ON_PARTS, compress
    from connevo.results import queries
    from connevo.results.store import open_store
    from connevo.service.formatting import console as terminal
    from connevo.service.formatting import fmt_value, jsonable

    store = open_store(args.store)
    source = store.candidate(args.candidate)
    row = compress(store, args.candidate, prune_fraction=args.prune, quantize=args.quantize)
    if args.format == "json":
        print(json.dumps(jsonable(row), indent=2))
        return 0
    console = terminal()
    console.print(f"stored {row['id']} (from {args.candidate})", highlight=False)
    regression = queries.campaign_kind(store.get_campaign(row["campaign_id"])["spec"]) == "regression"
    scores = ["val_r2", "test_r2"] if regression else ["val_accuracy", "test_accuracy"]
    columns = [*scores, "connections", "params"]

    def value(candidate: dict[str, Any], name: str) -> str:  # a regression's scores are under extra
        extra = candidate.get("extra") or {}
        value = candidate[name] if candidate.get(name) is not None else extra.get(name)
        return "-" if value is None else fmt_value(value)

    table = Table("", *columns, "weight bytes")
    table.add_row("source", *(value(source, c) for c in columns), fmt_value(4 * int(source["params"])))
    table.add_row("compressed", *(value(row, c) for c in columns), fmt_value(row["extra"]["weight_bytes"]))
    console.print(table)
    seen = [PART_NAMES[p] for p in row["extra"].get(TRAINED_ON_PARTS, [])]
    if seen:
        console.print(f"note: {args.candidate} trained on the {' and '.join(seen)} rows (the final polish), so its "
                      f"copy has no {' or '.join(seen)} scores (-): measured on rows it learned from, they would "
                      f"overstate it{' and put it on the front' if 'validation' in seen else ''}", highlight=False)
    if row["extra"]["weight_bytes"] > 4 * int(source["params"]):
        console.print("note: int8 takes more bytes than float32 for this network: each neuron keeps a float32 scale "
                      "and bias, which outweigh the 3 bytes saved on each of its few weights", highlight=False)
    return 0


def cmd_polish(args: argparse.Namespace) -> int:
    from connevo.evolution.polish import polish_campaign
    from connevo.results.store import open_store

    store = open_store(args.store)
    report = polish_campaign(store, args.campaign, args.epochs)
    info = store.get_campaign(args.campaign)
    if args.format == "json":
        print(json.dumps(None if report is None else dataclasses.asdict(report), indent=2))
        return 0
    if report is None:
        print(f"campaign {info['id']} ({info['name']!r}) was polished already; `connevo front` lists its polished networks")
    else:
        print(report.line())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from connevo.results.store import open_store

    if args.front:
        return _export_front(args, open_store(args.store))
    if args.max_connections is not None:
        raise ConnevoError("--max-connections chooses among a front's networks: give it with --front")
    from connevo.evolution.export import export_candidate

    info = export_candidate(open_store(args.store), args.candidate, args.output, args.format)
    print(f"{info['format']}: {info['n_features']} features in, {_outputs(info)} out", file=sys.stderr)
    for path in info["files"]:
        print(path)
    return 0


def _outputs(info: dict[str, Any]) -> str:
    return "1 prediction (the target, in its units)" if info["kind"] == "regression" else \
        f"{len(info['classes'])} class logits"


def _export_front(args: argparse.Namespace, store: Any) -> int:
    """``connevo export --front CAMPAIGN -o FOLDER``: every front network, and front.csv."""
    from connevo.evolution.front_export import export_front
    from connevo.service.progress import progress_console

    console = progress_console()
    with console.status("exporting the front") as status:
        info = export_front(store, args.candidate, args.output, args.format or "pt2",
                            max_connections=args.max_connections,
                            on_progress=lambda done, total: status.update(f"exported {done} of {total} front networks"))
    print(f"{info['format']}: {info['networks']} front networks of campaign {info['campaign_id']}, "
          f"{info['n_features']} features in, {_outputs(info)} out; listed in {info['manifest']}", file=sys.stderr)
    print(info["manifest"])
    for path in info["files"]:
        print(path)
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    import pandas as pd

    from connevo.results.store import open_store
    from connevo.service.formatting import emit

    if args.server:
        with _client(args) as client:
            frame = pd.DataFrame(client.list_campaigns(), columns=LIST_COLUMNS)
    else:
        frame = open_store(args.store).list_campaigns()
    if args.format == "table" and "stale" in frame:  # json/csv keep the stale column
        stale = frame["stale"].fillna(False).astype(bool)
        frame = frame.assign(status=frame["status"].where(~stale, frame["status"] + " (stale)")).drop(columns="stale")
    emit(frame, args.format, empty="no campaigns in this store")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    import pandas as pd

    from connevo.evolution.time_limit import describe, stopped_at_time_limit
    from connevo.results import queries
    from connevo.results.store import open_store
    from connevo.service.formatting import console as terminal
    from connevo.service.formatting import print_frame, records

    if args.server:
        with _client(args) as client:
            info = client.campaign(args.campaign)
        info["candidates"] = info["candidates_done"]
        generations = pd.DataFrame(info.pop("hypervolume_history"), columns=GENERATION_COLUMNS)
    else:
        store = open_store(args.store)
        info = store.get_campaign(args.campaign)
        generations = store.generations(info["id"])
    if args.format == "json":
        payload = {k: v for k, v in info.items() if k != "spec"}
        payload["spec"] = info["spec"]
        payload["generations"] = records(generations.drop(columns=["population", "checkpoint"], errors="ignore"))
        print(json.dumps(payload, default=str, indent=2))
        return 0
    console = terminal()
    console.print(
        f"campaign {info['id']} '{info['name']}'  status {info['status']}  generations done "
        f"{info['generations_done']}/{info['spec']['evolution']['generations'] + 1}  candidates {info['candidates']}",
        highlight=False,
    )
    if info.get("error"):
        console.print(f"error: {info['error']}", highlight=False)
    if stopped_at_time_limit(info):
        limit = describe(info["spec"]["evolution"]["time_limit"])
        console.print(f"its time limit ({limit}) stopped evolution after generation {info['generations_done'] - 1} of "
                      f"{info['spec']['evolution']['generations']}; `connevo resume {info['id']}` goes on (another "
                      f"{limit} at most)", highlight=False)
    if info.get("stale"):
        console.print(f"stale: its driver has not been heard of since {info['updated_at']} (it has most likely "
                      f"died); `connevo resume {info['id']}` continues it", highlight=False)
    if len(generations):
        table = generations[["generation", "evaluations", "best_val_accuracy", "front_size", "hypervolume"]]
        best = queries.campaign_objectives(info["spec"])[0]  # the column holds the first maximized objective's best
        print_frame(console, table.rename(columns={"best_val_accuracy": f"best_{best}"}))
    return 0


def cmd_front(args: argparse.Namespace) -> int:
    import pandas as pd

    from connevo.results import queries
    from connevo.results.store import open_store
    from connevo.service.formatting import FRONT_COLUMNS, emit, front_view

    requested = [o.strip() for o in args.objectives.split(",") if o.strip()] if args.objectives else None
    if args.server:
        with _client(args) as client:
            answer = client.front(args.campaign, requested, max_connections=args.max_connections,
                                  include_failed=args.include_failed, include_partial=args.include_partial,
                                  unpolished=args.unpolished)
        objectives = answer["objectives"]
        front = pd.DataFrame(answer["items"])
        if front.empty:
            front = pd.DataFrame(columns=[*FRONT_COLUMNS, *objectives])
        emit(front_view(front, objectives, args.format != "table"), args.format, empty="no candidate matches")
        return 0
    store = open_store(args.store)
    info = store.get_campaign(args.campaign)
    if requested:
        objectives = requested
    else:
        objectives = queries.campaign_objectives(info["spec"])
    front = queries.front(store, info["id"], objectives, max_connections=args.max_connections,
                          include_failed=args.include_failed, include_partial=args.include_partial,
                          unpolished=args.unpolished, genomes=False,
                          rank_accuracy_by=queries.spec_accuracy_ranking(info["spec"]))  # no second read
    emit(front_view(front, objectives, args.format != "table", kind=queries.campaign_kind(info["spec"])), args.format,
         empty="no candidate matches")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    import pandas as pd

    from connevo.evolution.heldout import score_front
    from connevo.results.store import open_store
    from connevo.service.formatting import console as terminal
    from connevo.service.formatting import jsonable, print_frame
    from connevo.service.progress import progress_console

    if args.server:
        with _client(args) as client, progress_console().status("scoring the front on the held-out rows"):
            answer = client.score(args.campaign, args.data, max_connections=args.max_connections,
                                  unpolished=args.unpolished)
    else:
        store = open_store(args.store)
        with progress_console().status("scoring the front on the held-out rows"):
            answer = jsonable(score_front(store, args.campaign, args.data, max_connections=args.max_connections,
                                          unpolished=args.unpolished).as_dict())
    if args.format == "json":
        print(json.dumps(answer, indent=2))
        return 0
    networks = pd.DataFrame(answer["networks"])
    if args.format == "csv":
        sys.stdout.write(networks.to_csv(index=False))
    else:
        print_frame(terminal(), networks)
    for line in score_summary(answer):
        print(line, file=sys.stderr if args.format == "csv" else sys.stdout)
    return 0


def score_summary(answer: dict[str, Any]) -> list[str]:
    """The lines under ``connevo score``'s table (``answer``: :meth:`HeldOutScores.as_dict`): the
    hypervolume and its reference, what was left out."""
    metric, networks = answer["metric"], answer["networks"]
    lines = [f"held-out {metric} of {len(networks)} front networks of campaign {answer['campaign_id']} "
             f"on {answer['rows']} rows; {sum(bool(n['heldout_front']) for n in networks)} on the held-out front",
             f"held-out hypervolume {answer['hypervolume']:.4f} (reference: {metric} 0 and "
             f"{answer['reference']['connections']:g} connections, twice the dense input-to-output network's)"]
    if answer["ignored_columns"]:
        lines.append(f"left out: columns the campaign did not train on: {answer['ignored_columns']}")
    if answer["unseen_labels"]:
        total = sum(answer["unseen_labels"].values())
        lines.append(f"{total} held-out row(s) have labels the campaign's data never had, wrong for every network: "
                     f"{answer['unseen_labels']}")
    if answer.get("missing_values"):
        total = sum(answer["missing_values"].values())
        lines.append(f"{total} missing feature value(s), each read as its column's training mean: "
                     f"{answer['missing_values']}")
    return lines


def cmd_show(args: argparse.Namespace) -> int:
    from rich.table import Table

    from connevo.results.store import open_store
    from connevo.service.formatting import console as terminal
    from connevo.service.formatting import fmt_value, jsonable

    if args.server:
        with _client(args) as client:
            row = client.candidate(args.candidate)
        row = {k: v for k, v in row.items() if k not in ("topology", "plots")}
    else:
        row = open_store(args.store).candidate(args.candidate)
    if args.format == "json":
        print(json.dumps(jsonable(row), indent=2))
        return 0
    console = terminal()
    console.print(f"candidate {row['id']}  (campaign {row['campaign_id']}, generation {row['generation']})", highlight=False)
    console.print(f"parents: {', '.join(row['parents']) or '(none: initial population)'}", highlight=False)
    table = Table(show_header=False, box=None)
    for key in METRICS:
        if key in row and row[key] is not None:
            table.add_row(key, fmt_value(row[key]))
    for key, value in (row.get("extra") or {}).items():  # e.g. fidelity of a multi-fidelity reject
        if isinstance(value, (int, float, str)):
            table.add_row(key, fmt_value(value))
    console.print(table)
    genome = row["genome"]
    nodes = genome["nodes"]
    inputs = [n["id"] for n in nodes if n["role"] == "input"]
    outputs = [n for n in nodes if n["role"] == "output"]
    hidden = [n for n in nodes if n["role"] == "hidden"]
    console.print(f"nodes: {len(inputs)} inputs (ids {inputs[0]}..{inputs[-1]}), {len(hidden)} hidden, {len(outputs)} outputs", highlight=False)
    for n in hidden + outputs:
        console.print(f"  node {n['id']:>4} {n['role']:<6} {n['activation']:<10} bias {n['bias']:+.4f}", highlight=False)
    enabled = [c for c in genome["connections"] if c["enabled"]]
    console.print(f"connections: {len(enabled)} enabled of {len(genome['connections'])} genes", highlight=False)
    for c in genome["connections"]:
        weight = "" if c["weight"] is None else f" w={c['weight']:+.4f}"
        flag = "" if c["enabled"] else " (disabled)"
        console.print(f"  #{c['innovation']:<5} {c['source']:>4} -> {c['target']:<4}{weight}{flag}", highlight=False)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from connevo.results import plots, queries
    from connevo.results.store import open_store

    store = open_store(args.store)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.candidate:
        from connevo.evolution.task import network_names

        row = store.candidate(args.campaign)
        names = network_names(store.get_campaign(row["campaign_id"])["spec"]) or (None, None)
        print(plots.plot_network(row["genome"], out / f"network-{row['id']}.png", input_names=names[0],
                                 output_names=names[1]))
        return 0
    try:
        info = store.get_campaign(args.campaign)
    except NotFoundError:
        try:
            store.candidate(args.campaign)
        except NotFoundError:
            raise NotFoundError(f"no campaign or candidate {args.campaign!r} in {store.url}") from None
        raise ConnevoError(f"{args.campaign!r} is a candidate, not a campaign: "
                           f"`connevo plot {args.campaign} --candidate` draws its network") from None
    objectives = queries.campaign_objectives(info["spec"], first_two=True)
    print(plots.plot_front(store.candidates(info["id"], genomes=False), objectives, out / f"front-{info['id']}.png",
                           rank_accuracy_by=queries.spec_accuracy_ranking(info["spec"])))
    print(plots.plot_hypervolume(store.generations(info["id"]), out / f"hypervolume-{info['id']}.png",
                                 best=objectives[0]))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from connevo.service.http import serve

    serve(args.host, args.port, store=args.store, data_dir=args.data_dir)
    return 0


def cmd_launch(args: argparse.Namespace) -> int:
    from connevo.evolution.spec import load_spec

    load_spec(args.spec)  # the same checks as `run`, before anything is sent
    path = Path(args.spec)
    text = path.read_text(encoding="utf-8")
    raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    with _client(args) as client:
        answer = client.launch(raw)
    if args.format == "json":
        print(json.dumps(answer, indent=2))
    else:
        print(f"campaign {answer['id']} {answer['status']} on {client.base_url}", flush=True)
    return 0


def _client(args: argparse.Namespace) -> Any:
    from connevo.service.client import SERVER_ENV, Client

    server = getattr(args, "server", None) or os.environ.get(SERVER_ENV)
    if not server:
        raise ConnevoError(f"no server: give --server URL or set {SERVER_ENV}")
    return Client(server)


def _add_server_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", default=None, metavar="URL",
                   help="ask a running `connevo serve` at URL (e.g. http://127.0.0.1:8765) instead of "
                        "opening a store; $CONNEVO_TOKEN is sent as a bearer token")


# ----- parser --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="connevo",
        description="Evolve the connection topology of neural networks; query the accuracy/cost Pareto front.",
    )
    parser.add_argument("--version", action="version", version=f"connevo {_version()}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", default=None,
                        help="file path or SQLAlchemy URL (default: $CONNEVO_STORE, else ./connevo.db)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_campaign_commands(sub, common)
    _add_query_commands(sub, common)
    _add_model_commands(sub, common)
    _add_service_commands(sub, common)
    return parser


def _add_campaign_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """run, resume, extend."""
    p = sub.add_parser("run", parents=[common], help="run a campaign from a TOML/JSON spec in the foreground")
    p.add_argument("spec", help="path to the campaign spec (.toml or .json)")
    p.add_argument("--workers", type=int, default=None, help="number of workers (overrides workers.count)")
    p.add_argument("--ray-address", default=None, help="Ray cluster address ('' starts a local Ray in-process)")
    p.add_argument("--backend", choices=["ray", "local"], default=None, help="evaluate on Ray (default) or in-process")
    p.add_argument("--seed", type=int, default=None, help="override the spec's seed")
    p.add_argument("--time-limit", default=None, metavar="TIME",
                   help="at most this long (seconds, or e.g. 90s, 10m, 1.5h): no generation starts that would end, "
                        "with the polish, past it (overrides evolution.time_limit)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("resume", parents=[common], help="continue a stopped, failed or killed campaign")
    p.add_argument("campaign", help="campaign id or name")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("extend", parents=[common],
                       help="give a campaign (finished or not) more generations, as if launched with them")
    p.add_argument("campaign", help="campaign id or name")
    p.add_argument("--generations", type=int, required=True, help="the campaign's new number of generations")
    p.set_defaults(func=cmd_resume)


def _add_query_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """ls, status, front, show, plot: reading a store."""
    p = sub.add_parser("ls", parents=[common], help="list campaigns")
    _add_server_option(p)
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("status", parents=[common], help="status and per-generation progress of one campaign")
    _add_server_option(p)
    p.add_argument("campaign", help="campaign id or name")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("front", parents=[common], help="the Pareto front of a campaign")
    _add_server_option(p)
    p.add_argument("campaign", help="campaign id or name")
    p.add_argument("--objectives", default=None,
                   help="comma-separated, e.g. val_accuracy,connections (default: the campaign's objectives)")
    p.add_argument("--max-connections", type=int, default=None, help="keep candidates with at most N connections")
    p.add_argument("--include-failed", action="store_true", help="also list failed/diverged/timeout candidates")
    p.add_argument("--include-partial", action="store_true",
                   help="also list candidates stopped at a short multi-fidelity rung (evolution.fidelity)")
    p.add_argument("--unpolished", action="store_true",
                   help="the front as evolution left it: the networks the final polish replaced, not their polished copies")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_front)

    p = sub.add_parser("score", parents=[common],
                       help="score a campaign's front on held-out rows it never saw: each network's accuracy "
                            "(a regression: R^2) there, and the held-out hypervolume")
    _add_server_option(p)
    p.add_argument("campaign", help="campaign id or name")
    p.add_argument("data", help="a CSV, Parquet or NPZ file with the campaign's feature columns (any order) "
                                "and its target column (with --server: a file in the server's --data-dir)")
    p.add_argument("--max-connections", type=int, default=None, help="only the front's networks of at most N connections")
    p.add_argument("--unpolished", action="store_true",
                   help="the front as evolution left it: the networks the final polish replaced, not their polished copies")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("show", parents=[common], help="one candidate: metrics, parents, topology")
    _add_server_option(p)
    p.add_argument("candidate", help="candidate id, e.g. 3f2a9c1d-17")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("plot", parents=[common], help="plot a campaign's front and hypervolume, or one network")
    p.add_argument("campaign", help="campaign id or name (a candidate id with --candidate)")
    p.add_argument("--candidate", action="store_true", help="draw the network of candidate CAMPAIGN instead")
    p.add_argument("--out", default=".", help="folder for the PNG files (default: .)")
    p.set_defaults(func=cmd_plot)


def _add_model_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """compress, polish, export: one trained network or a front."""
    p = sub.add_parser("compress", parents=[common], help="prune and/or int8-quantize a trained candidate")
    p.add_argument("candidate", help="candidate id")
    p.add_argument("--prune", type=float, default=0.0, help="fraction of connections to remove, smallest |weight| first")
    p.add_argument("--quantize", choices=["int8"], default=None, help="dynamic int8 quantization")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("polish", parents=[common],
                       help="train a finished campaign's front networks on from their weights on the rows of the spec's "
                            "training.polish_rows (default: training + validation); they replace their sources on the front "
                            "(campaigns do it by default)")
    p.add_argument("campaign", help="campaign id or name")
    p.add_argument("--epochs", type=int, default=None,
                   help="polish epochs (default: the spec's training.polish_epochs, else the campaign's default "
                   "polish: an inheriting child's epochs, or a whole training's on plentiful multi-class data)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_polish)

    p = sub.add_parser("export", parents=[common],
                       help="write a trained candidate to run without connevo (raw feature rows in, logits out)")
    p.add_argument("candidate", help="candidate id (with --front: a campaign id or name)")
    p.add_argument("-o", "--output", required=True,
                   help="file to write, e.g. model.pt2 or model.onnx (with --front: a folder, made if absent)")
    p.add_argument("--front", action="store_true",
                   help="export every network of the campaign's Pareto front (as `connevo front` lists it) into the "
                        "folder, as <candidate id>.pt2 (or .onnx, .pt), and front.csv listing them with their scores")
    p.add_argument("--max-connections", type=int, default=None,
                   help="with --front: only the front's networks of at most this many connections")
    p.add_argument("--format", choices=["pt2", "onnx", "torchscript", "state-dict"], default=None,
                   help="pt2: torch.export, load with torch.export.load(path).module() (the default, and for .pt2); "
                        "onnx: for onnxruntime and other ONNX runtimes (for .onnx; pip install 'connevo[onnx]'); "
                        "torchscript: torch.jit (deprecated by torch); "
                        "state-dict: weights, with the topology JSON beside them")
    p.set_defaults(func=cmd_export)


def _add_service_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """serve, launch: the HTTP service."""
    p = sub.add_parser("serve", parents=[common], help="run the HTTP API and the live dashboard")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; any other needs $CONNEVO_TOKEN)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--data-dir", default=None,
                   help="the only folder specs sent over HTTP may read data files from (default: .)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("launch", help="send a spec to a running `connevo serve`; it runs there in the background")
    p.add_argument("spec", help="path to the campaign spec (.toml or .json)")
    _add_server_option(p)
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_launch)


def _version() -> str:
    from connevo import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """The ``connevo`` command. Without ``argv`` (the command line): a campaign that trains on
    Ray runs in a watched child process (:mod:`service.supervisor`); with ``argv`` (tests,
    embedding) every command runs in this process."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = argv is None  # the process is this command's own (connevo.collector)
    if getattr(args, "max_connections", None) is not None and args.max_connections < 0:
        parser.error(f"--max-connections must be >= 0, got {args.max_connections}")
    if getattr(args, "workers", None) is not None and args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    try:
        if argv is None and args.func in (cmd_run, cmd_resume):
            from connevo.service.supervisor import supervise, wants_supervision

            if wants_supervision(args):
                return supervise(sys.argv[1:])
        if args.command_line and args.func in (cmd_run, cmd_resume, cmd_serve):
            hold_collections()  # until the imports are done and frozen (connevo.collector)
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below, not at exit
        return status
    except ConnevoError as exc:
        print(f"connevo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("connevo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (`| head`) closed the pipe: stop quietly, as Unix tools do; what Python
        # still holds for stdout goes nowhere, so no second error comes at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, the shell's status for a writer whose reader left
    finally:
        if args.command_line:
            freeze_before_exit()  # the interpreter's exit skips the live objects (connevo.collector)


if __name__ == "__main__":
    sys.exit(main())
