"""Where the refresh's time goes: one dataset-day, stage by stage, beside ijson parsing it alone.

Run by bench/refresh.py in the functions' interpreter, with the built zip's code on the path:

    refresh_stages.py --url URL --table establishment --date 2026-11-27 --bucket B --runs 3

Each configuration runs ``--runs`` times in this process (warm), the configurations taking turns
run by run, and its median is kept:

* parse only: ijson's C backend over the body, from a file (the limit the export is measured
  against);
* + CSV: the rows checked, turned into fields and written to the spool file, as the export does it
  (``CsvSpool.add_all``);
* fetch: what the export does before the upload, through the real client from the partner API
  simulator (HTTP read and the checks on the bytes included);
* upload: the finished spool to S3, as the export sends it.

Prints one JSON object: seconds per configuration, rows, and the backend ijson used.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date

import boto3
import ijson
import urllib3

from refresh_partner_data.csv_spool import CsvSpool
from refresh_partner_data.datasets import declared_columns
from refresh_partner_data.partner_client import PartnerApi
from refresh_partner_data.s3_upload import upload_csv_file


def timed_in_turn(runs: int, works: dict[str, Callable[[], int]]) -> dict[str, tuple[float, int]]:
    """Each work's median seconds over ``runs`` and the rows it counted. The works take turns run
    by run, so a machine that speeds up or slows down meanwhile weighs on each alike."""
    seconds: dict[str, list[float]] = {name: [] for name in works}
    rows: dict[str, int] = {}
    for _ in range(runs):
        for name, work in works.items():
            started = time.perf_counter()
            rows[name] = work()
            seconds[name].append(time.perf_counter() - started)
    return {name: (statistics.median(seconds[name]), rows[name]) for name in works}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--date", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    day = date.fromisoformat(args.date)
    declared = declared_columns(args.table)
    api = PartnerApi(args.url, None)

    with tempfile.TemporaryDirectory(prefix="refresh-stages-") as scratch:
        body = os.path.join(scratch, "body.json")
        spool_path = os.path.join(scratch, "rows.spool")
        response = urllib3.PoolManager().request("GET", api.url(args.table, day), preload_content=False)
        with open(body, "wb") as file:
            for chunk in response.stream(1024 * 1024):
                file.write(chunk)
        response.release_conn()

        def parse_only() -> int:
            with open(body, "rb") as file:
                return sum(1 for _ in ijson.items(file, "item", use_float=False))

        def parse_and_write() -> int:
            spool = CsvSpool(spool_path, declared)
            with open(body, "rb") as file:
                spool.add_all(ijson.items(file, "item", use_float=False))
            spool.discard()
            return spool.rows

        def fetch() -> int:
            spool = CsvSpool(spool_path, declared)
            with api.rows(args.table, day) as rows:
                spool.add_all(rows)
            spool.whole_file()
            return spool.rows

        s3 = boto3.client("s3")

        def upload() -> int:
            path = os.path.join(scratch, "upload.csv")
            upload_csv_file(s3, path, args.bucket, f"stages/{args.table}.csv", {})
            return 0

        stages = timed_in_turn(
            args.runs, {"parse_only": parse_only, "parse_csv": parse_and_write, "fetch": fetch}
        )
        os.replace(spool_path, os.path.join(scratch, "upload.csv"))  # The last fetch's file.
        stages.update(timed_in_turn(args.runs, {"upload": upload}))
    print(
        json.dumps(
            {
                "rows": stages["parse_only"][1],
                "ijson_backend": ijson.backend_name,
                "seconds": {name: seconds for name, (seconds, _rows) in stages.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
