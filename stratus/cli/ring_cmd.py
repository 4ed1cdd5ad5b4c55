"""`stratus ring`: build rings and look inside them.

Every action works on a builder file (``object.builder``); ``rebalance``
also writes the ring file beside it (``object.ring``), which is what proxies
and storage nodes load.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ring import RingBuilder, RingError
from ring.report import RebalanceReport
from ring.ringfile import MAGIC, read_ring_file
from stratus.cli.output import add_json_flag, emit_json, table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ring",
        help="build and inspect rings (placement of accounts, containers, objects)",
        description="Build and inspect rings. Edit a builder file, then `rebalance` "
        "writes the ring file beside it.",
    )
    rsub = p.add_subparsers(dest="ring_command", metavar="ACTION", required=True)

    _register_edits(rsub)
    _register_checks(rsub)
    from stratus.cli.ring_push import register_push

    register_push(rsub)  # `stratus ring push`: the rings to every host


def _register_edits(rsub: argparse._SubParsersAction) -> None:
    create = rsub.add_parser("create", help="create an empty builder file")
    _builder_arg(create)
    create.add_argument("--part-power", type=int, required=True, help="2**N partitions")
    create.add_argument("--replicas", type=int, required=True, help="replicas of each partition")
    create.add_argument(
        "--min-part-hours",
        type=int,
        default=1,
        help="hours before a moved partition may move another replica (default 1)",
    )
    create.add_argument(
        "--overload",
        type=float,
        default=0.0,
        help="fraction of a device's target not worth moving data for (default 0)",
    )
    create.add_argument("--force", action="store_true", help="replace an existing builder file")
    add_json_flag(create)
    create.set_defaults(func=_wrap(_create))

    add = rsub.add_parser("add", help="add a device")
    _builder_arg(add)
    add.add_argument("--region", type=int, default=1, help="region number (default 1)")
    add.add_argument("--zone", type=int, required=True, help="zone number")
    add.add_argument("--ip", required=True, help="address of the storage node")
    add.add_argument("--port", type=int, required=True, help="port of the storage node")
    add.add_argument("--device", required=True, help="device (directory) name on the node")
    add.add_argument("--weight", type=float, required=True, help="relative capacity")
    add.add_argument("--meta", default="", help="free text kept with the device")
    add.add_argument("--id", type=int, default=None, help="device id (default: next free)")
    add_json_flag(add)
    add.set_defaults(func=_wrap(_add))

    remove = rsub.add_parser("remove", help="remove a device (its partitions move on rebalance)")
    _builder_arg(remove)
    remove.add_argument("dev_id", type=int, metavar="ID", help="device id")
    add_json_flag(remove)
    remove.set_defaults(func=_wrap(_remove))

    weight = rsub.add_parser("set-weight", help="change a device's weight")
    _builder_arg(weight)
    weight.add_argument("dev_id", type=int, metavar="ID", help="device id")
    weight.add_argument("weight", type=float, metavar="WEIGHT", help="new weight (0 drains)")
    add_json_flag(weight)
    weight.set_defaults(func=_wrap(_set_weight))

    pretend = rsub.add_parser(
        "pretend-min-part-hours-passed",
        help="let the next rebalance move partitions moved less than min_part_hours ago",
    )
    _builder_arg(pretend)
    pretend.set_defaults(func=_wrap(_pretend))


def _register_checks(rsub: argparse._SubParsersAction) -> None:
    reb = rsub.add_parser("rebalance", help="rebalance and write the ring file")
    _builder_arg(reb)
    reb.add_argument("--seed", type=int, default=None, help="seed for a repeatable result")
    reb.add_argument("--ring", type=Path, default=None, help="ring file (default: beside it)")
    add_json_flag(reb)
    reb.set_defaults(func=_wrap(_rebalance))

    show = rsub.add_parser("show", help="show a builder (or ring) file: devices and balance")
    show.add_argument("path", type=Path, metavar="FILE", help="builder or ring file")
    add_json_flag(show)
    show.set_defaults(func=_wrap(_show))

    validate = rsub.add_parser(
        "validate", help="check a builder and its ring file (exit status 1 on problems)"
    )
    _builder_arg(validate)
    validate.add_argument("--ring", type=Path, default=None, help="ring file (default: beside it)")
    add_json_flag(validate)
    validate.set_defaults(func=_wrap(_validate))


def _builder_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("builder", type=Path, metavar="BUILDER", help="builder file")


def _wrap(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Ring errors and file errors are the user's to fix: one line, exit status 1."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (RingError, OSError) as exc:
            print(f"stratus: error: {exc}", file=sys.stderr)
            return 1

    return run


def ring_path_for(builder: Path) -> Path:
    """object.builder -> object.ring; anything else gets .ring appended."""
    if builder.suffix == ".builder":
        return builder.with_suffix(".ring")
    return builder.with_name(builder.name + ".ring")


def _create(args: argparse.Namespace) -> int:
    if args.builder.exists() and not args.force:
        raise RingError(f"{args.builder} exists (use --force to replace it)")
    b = RingBuilder(args.part_power, args.replicas, args.min_part_hours, args.overload)
    b.save(args.builder)
    if args.json:
        emit_json(_summary(b))
    else:
        print(
            f"created {args.builder}: {b.partition_count} partitions (part power "
            f"{b.part_power}), {b.replicas} replicas, min_part_hours {b.min_part_hours}"
        )
    return 0


def _add(args: argparse.Namespace) -> int:
    b = RingBuilder.load(args.builder)
    dev_id = b.add_device(
        region=args.region,
        zone=args.zone,
        ip=args.ip,
        port=args.port,
        device=args.device,
        weight=args.weight,
        meta=args.meta,
        id=args.id,
    )
    b.save(args.builder)
    dev = b.get_device(dev_id)
    if args.json:
        emit_json(dev.to_dict())
    else:
        print(f"added device {dev_id}: {dev.label} weight {dev.weight:g}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    b = RingBuilder.load(args.builder)
    dev = b.get_device(args.dev_id)
    b.remove_device(args.dev_id)
    b.save(args.builder)
    if args.json:
        emit_json({"removed": dev.to_dict()})
    else:
        print(f"removed device {dev.id}: {dev.label} (its partitions move on rebalance)")
    return 0


def _set_weight(args: argparse.Namespace) -> int:
    b = RingBuilder.load(args.builder)
    old = b.get_device(args.dev_id).weight
    b.set_weight(args.dev_id, args.weight)
    b.save(args.builder)
    dev = b.get_device(args.dev_id)
    if args.json:
        emit_json(dev.to_dict())
    else:
        print(f"device {dev.id}: {dev.label} weight {old:g} -> {dev.weight:g}")
    return 0


def _pretend(args: argparse.Namespace) -> int:
    b = RingBuilder.load(args.builder)
    b.pretend_min_part_hours_passed()
    b.save(args.builder)
    print(f"{args.builder}: the next rebalance may move any partition (min_part_hours waived)")
    return 0


def _rebalance(args: argparse.Namespace) -> int:
    b = RingBuilder.load(args.builder)
    report = b.rebalance(seed=args.seed)
    ring_path = args.ring or ring_path_for(args.builder)
    b.save(args.builder)
    b.write_ring(ring_path)
    if args.json:
        out = report.to_dict()
        out["ring"] = str(ring_path)
        emit_json(out)
        return 0
    print(
        f"rebalanced {args.builder}: moved {report.moved} replicas "
        f"({report.partitions_moved} partitions), balance {report.balance:.2f}%, "
        f"dispersion {report.dispersion}"
    )
    print(f"wrote {ring_path} (ring version {b.ring_version}, seed {report.seed})")
    _notes(b, report)
    return 0


def _notes(b: RingBuilder, report: RebalanceReport) -> None:
    unsettled = report.dispersion or report.balance > 1.0
    if unsettled and report.held:
        print(
            f"note: min_part_hours ({b.min_part_hours}h) held {report.held} partitions that "
            "moved recently; rebalance again once it has passed"
        )
    elif report.balance > 1.0:
        print(
            "note: balance above 1% means weights and failure domains disagree "
            "(dispersion comes first); see `stratus ring show`"
        )


def _summary(b: RingBuilder) -> dict[str, Any]:
    return {
        "part_power": b.part_power,
        "partitions": b.partition_count,
        "replicas": b.replicas,
        "min_part_hours": b.min_part_hours,
        "overload": b.overload,
        "ring_version": b.ring_version,
        "pending_changes": b.pending_changes,
        "devices": [d.to_dict() for d in b.devices],
    }


def _show(args: argparse.Namespace) -> int:
    with open(args.path, "rb") as fh:
        head = fh.read(len(MAGIC))
    if head == MAGIC:
        return _show_ring(args)
    b = RingBuilder.load(args.path)
    out = _summary(b)
    report = None
    problem = "not rebalanced yet"
    if b.replica_table is not None:
        try:
            report = b.report()
        except RingError as exc:
            problem = str(exc)
    if args.json:
        if report is not None:
            out.update(
                balance=report.balance,
                dispersion=report.dispersion,
                dispersion_by_tier=report.dispersion_by_tier,
            )
            for dev in out["devices"]:
                dev.update(report.devices.get(dev["id"], {}))
        else:
            out["problem"] = problem
        emit_json(out)
        return 0
    print(
        f"{args.path}: {b.partition_count} partitions (part power {b.part_power}), "
        f"{b.replicas} replicas, min_part_hours {b.min_part_hours}, overload {b.overload:g}"
    )
    state = "pending changes: rebalance to apply them" if b.pending_changes else "up to date"
    print(f"ring version {b.ring_version}, {len(b.devices)} devices, {state}")
    if report is not None:
        tiers = ", ".join(f"{k} {v}" for k, v in report.dispersion_by_tier.items())
        print(f"balance {report.balance:.2f}%, dispersion {report.dispersion} ({tiers})")
    else:
        print(f"no placement to show: {problem}")
    print(_device_table(b, report.devices if report is not None else {}))
    return 0


def _device_table(b: RingBuilder, stats: dict[int, dict[str, float]]) -> str:
    rows = []
    for d in b.devices:
        s = stats.get(d.id, {})
        balance = f"{s['balance']:.2f}" if "balance" in s else "-"
        held = [s.get("parts", "-"), s.get("target", "-"), balance, d.meta]
        rows.append([d.id, d.region, d.zone, d.ip, d.port, d.device, f"{d.weight:g}", *held])
    headers = ["id", "region", "zone", "ip", "port", "device", "weight", "parts", "target"]
    return table([*headers, "balance%", "meta"], rows)


def _show_ring(args: argparse.Namespace) -> int:
    data = read_ring_file(args.path)
    held = [0] * len(data.devices)
    for col in data.table:
        for i in col:
            held[i] += 1
    if args.json:
        emit_json(
            {
                "part_power": data.part_power,
                "partitions": data.partition_count,
                "replicas": data.replicas,
                "ring_version": data.ring_version,
                "devices": [
                    {**d.to_dict(), "parts": n} for d, n in zip(data.devices, held, strict=True)
                ],
            }
        )
        return 0
    print(
        f"{args.path}: ring version {data.ring_version}, {data.partition_count} partitions "
        f"(part power {data.part_power}), {data.replicas} replicas, {len(data.devices)} devices"
    )
    rows = [
        [d.id, d.region, d.zone, d.ip, d.port, d.device, f"{d.weight:g}", n]
        for d, n in zip(data.devices, held, strict=True)
    ]
    print(table(["id", "region", "zone", "ip", "port", "device", "weight", "parts"], rows))
    return 0


def _validate(args: argparse.Namespace) -> int:
    b = RingBuilder.load(args.builder)
    ring_path = args.ring or ring_path_for(args.builder)
    problems = b.validate()
    problems += [f"{ring_path}: {p}" for p in b.check_ring_file(ring_path)]
    warnings = []
    if not problems:
        report = b.report()
        if report.dispersion:
            warnings.append(f"{report.dispersion} partitions share a failure domain")
        if report.balance > 1.0:
            warnings.append(f"balance is {report.balance:.2f}%")
    if args.json:
        emit_json({"ok": not problems, "problems": problems, "warnings": warnings})
    else:
        for p in problems:
            print(f"problem: {p}")
        for w in warnings:
            print(f"warning: {w}")
        if not problems:
            print(f"{args.builder} and {ring_path} are consistent")
    return 1 if problems else 0
