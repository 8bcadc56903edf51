"""Human-readable output of ``asyncnni bench``: a table on stderr and an optional plot."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, TextIO

COLUMNS = (
    ("scenario", "scenario", "{}"),
    ("pattern", "pattern", "{}"),
    ("workers", "workers", "{}"),
    ("transport", "via", "{}"),
    ("messages_per_s", "msgs/s", "{:,.0f}"),
    ("p50_us", "p50 us", "{:,.0f}"),
    ("p90_us", "p90 us", "{:,.0f}"),
    ("p99_us", "p99 us", "{:,.0f}"),
    ("dispatcher_peak_rss_mb", "peak MB", "{:.1f}"),
    ("fraction_of_raw", "of raw", "{:.0%}"),
)


def _cell(record: dict[str, Any], key: str, fmt: str) -> str:
    value = record.get(key)
    return "-" if value is None else fmt.format(value)


def print_table(records: list[dict[str, Any]], out: TextIO = sys.stderr) -> None:
    """One row per record, aligned; idle checks get a line of their own below."""
    rows = [[title for _, title, _ in COLUMNS]]
    rows += [[_cell(r, key, fmt) for key, _, fmt in COLUMNS] for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for n, row in enumerate(rows):
        print(
            "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)), file=out
        )
        if n == 0:
            print("  ".join("-" * width for width in widths), file=out)
    for r in records:
        if r.get("scenario") == "idle":
            print(
                f"idle check: {r['idle_workers']} idle workers connected, dispatcher RSS "
                f"{r['dispatcher_rss_mb']} MB (before they connected: "
                f"{r['dispatcher_rss_mb_before_idle']} MB, before the dispatcher started: "
                f"{r['baseline_rss_mb']} MB); one active client p50 {r['p50_us']} us, "
                f"p99 {r['p99_us']} us (without idle workers: p50 {r['p50_us_without_idle']} us, "
                f"p99 {r['p99_us_without_idle']} us)",
                file=out,
            )


def plot(records: list[dict[str, Any]], path: Path) -> None:
    """Throughput and p50 latency against the number of workers, one line per scenario
    (raw baselines per pattern). Needs matplotlib: ``pip install 'asyncnni[plot]'``."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only; no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError(
            "--plot needs matplotlib: pip install 'asyncnni[plot]' (or pip install matplotlib)"
        ) from None
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r.get("scenario") == "idle":
            continue
        label = f"raw {r['pattern']}" if r["scenario"] == "raw" else f"scenario {r['scenario']}"
        series[label].append(r)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 8), sharex=True)
    for label, points in sorted(series.items()):
        points.sort(key=lambda r: r["workers"])
        workers = [r["workers"] for r in points]
        style = "--" if label.startswith("raw") else "-"
        (line,) = top.plot(
            workers, [r["messages_per_s"] for r in points], style, marker="o", label=label
        )
        if points[0].get("p50_us") is not None:  # one-way messages have no latency
            bottom.plot(
                workers, [r["p50_us"] for r in points], style, marker="o", color=line.get_color()
            )
    top.set_ylabel("messages / s")
    bottom.set_ylabel("p50 latency (us)")
    bottom.set_xlabel("workers")
    for ax in (top, bottom):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    top.legend(fontsize="small")
    first = records[0] if records else {}
    fig.suptitle(f"asyncnni dispatcher, {first.get('transport', '')}, {first.get('date', '')}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
