"""The benchmark's results: the printed table and the JSON record."""

from __future__ import annotations

import os
import statistics
from dataclasses import asdict, dataclass, field

from benchmarks.workloads import Measurement, Workload


@dataclass
class Row:
    workload: Workload
    surfserve: Measurement
    baseline: Measurement | None = None
    floor_ms: float | None = None
    floor_steps: dict[str, float] = field(default_factory=dict)
    peers: dict[str, Measurement] = field(default_factory=dict)


def render(rows: list[Row], startup: list[float], batching: dict, floor_report: dict) -> str:
    """Return the results as markdown tables and lists, for the terminal and docs."""
    lines = [
        "",
        "| workload | conns | surfserve req/s | points/s | p50 / p99 ms | baseline req/s "
        "| baseline p50 / p99 ms | vs baseline | floor ms | time / floor |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ours, theirs = row.surfserve, row.baseline
        ratio = "-"
        if theirs and theirs.requests_per_second > 0:
            ratio = f"{ours.requests_per_second / theirs.requests_per_second:.2f}x"
        baseline_rate = f"{theirs.requests_per_second:,.1f}" if theirs else "-"
        baseline_latency = (
            f"{theirs.latency_p50_ms:.2f} / {theirs.latency_p99_ms:.2f}" if theirs else "-"
        )
        # Time per request is 1 / throughput. At one connection that is the
        # latency plus wrk's turnaround; at several, the server's CPU time per request.
        per_request_ms = 1000 / ours.requests_per_second
        floor = f"{row.floor_ms:.3f}" if row.floor_ms is not None else "-"
        over_floor = f"{per_request_ms / row.floor_ms:.2f}x" if row.floor_ms else "-"
        lines.append(
            f"| {row.workload.name} | {row.workload.connections} "
            f"| {ours.requests_per_second:,.1f} | {ours.points_per_second:,.0f} "
            f"| {ours.latency_p50_ms:.2f} / {ours.latency_p99_ms:.2f} "
            f"| {baseline_rate} | {baseline_latency} | {ratio} | {floor} | {over_floor} |"
        )
    errors = [
        f"{row.workload.name}: {m.non_2xx} non-2xx, {m.socket_errors} socket errors"
        for row in rows
        for m in (row.surfserve, row.baseline, *row.peers.values())
        if m is not None and (m.non_2xx or m.socket_errors)
    ]

    peer_names = sorted({name for row in rows for name in row.peers})
    if peer_names:
        lines += [
            "",
            "Peers (req/s, p99 ms; ratio is surfserve / peer):",
            "| workload | surfserve | " + " | ".join(peer_names) + " |",
            "|---|---|" + "---|" * len(peer_names),
        ]
        for row in rows:
            if not row.peers:
                continue
            cells = []
            for name in peer_names:
                peer = row.peers.get(name)
                if peer is None or peer.requests_per_second == 0:
                    cells.append("-")
                    continue
                ratio = row.surfserve.requests_per_second / peer.requests_per_second
                cells.append(
                    f"{peer.requests_per_second:,.1f}, p99 {peer.latency_p99_ms:.1f} ({ratio:.2f}x)"
                )
            ours = row.surfserve
            lines.append(
                f"| {row.workload.name} | {ours.requests_per_second:,.1f}, "
                f"p99 {ours.latency_p99_ms:.1f} | " + " | ".join(cells) + " |"
            )

    lines += ["", "Floor steps (ms, in-process, best of repeats):"]
    for row in rows:
        steps = ", ".join(f"{name} {ms:.3f}" for name, ms in row.floor_steps.items())
        lines.append(f"- {row.workload.name}: {steps}")

    lines += ["", "Dynamic batching, predict 1 point JSON at 32 connections:"]
    for label, m in batching.items():
        lines.append(
            f"- batching {label}: {m.requests_per_second:,.1f} req/s, "
            f"p50 {m.latency_p50_ms:.2f} ms, p99 {m.latency_p99_ms:.2f} ms"
        )

    lines += ["", "Forward pass in chunks (ms, one thread):"]
    for key in ("chunk_sweep_100k", "chunk_sweep_1m"):
        sweep = floor_report.get(key, {})
        lines.append(f"- {key}: " + ", ".join(f"{k} {v:.1f}" for k, v in sweep.items()))
    if "gc_decode_100k" in floor_report:
        gc_times = floor_report["gc_decode_100k"]
        lines.append(
            "- orjson.loads of the 100,000-point body (ms): "
            + ", ".join(f"{k} {v:.1f}" for k, v in gc_times.items())
        )

    lines += [
        "",
        "Start-up to ready (s): "
        + ", ".join(f"{s:.2f}" for s in startup)
        + f" (median {statistics.median(startup):.2f})",
    ]
    lines += ["", "Errors: " + ("; ".join(errors) if errors else "none")]
    return "\n".join(lines)


def as_json(rows: list[Row], startup: list[float], batching: dict, floor_report: dict) -> dict:
    return {
        "rows": [
            {
                "workload": asdict(row.workload),
                "surfserve": asdict(row.surfserve),
                "baseline": asdict(row.baseline) if row.baseline else None,
                "floor_ms": row.floor_ms,
                "floor_steps": row.floor_steps,
                "peers": {name: asdict(m) for name, m in row.peers.items()},
            }
            for row in rows
        ],
        "startup_seconds": startup,
        "batching": {label: asdict(m) for label, m in batching.items()},
        "floors": floor_report,
        "cpus": sorted(os.sched_getaffinity(0)),
    }
