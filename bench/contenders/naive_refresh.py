#!/usr/bin/env python3
"""The refresh the original project would have written, for the benchmark's comparison.

    python bench/contenders/naive_refresh.py --url URL --bucket NAME --table T --date YYYY-MM-DD

Loads the whole JSON response into memory, writes it with ``csv.DictWriter`` to a local file and
uploads it with ``upload_file``: the approach of the original notebooks (nested objects end up as
Python reprs, as they did there). Prints rows, bytes, seconds and this process's peak RSS as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import boto3


def peak_rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--date", required=True)
    args = parser.parse_args()

    started = time.monotonic()
    query = urllib.parse.urlencode({"table": args.table, "saleDate": args.date})
    with urllib.request.urlopen(f"{args.url}?{query}", timeout=300) as response:
        data = json.loads(response.read())
    path = os.path.join(tempfile.gettempdir(), f"dados_{args.table}_{os.getpid()}.csv")
    with open(path, "w", newline="", encoding="utf-8") as csvfile:
        if data:
            writer = csv.DictWriter(csvfile, fieldnames=list(data[0].keys()))
            writer.writeheader()
            for row in data:
                writer.writerow(row)
    size = os.path.getsize(path)
    boto3.client("s3").upload_file(path, args.bucket, f"{args.table}/{args.date}.csv")
    os.remove(path)
    print(
        json.dumps(
            {
                "rows": len(data),
                "bytes": size,
                "seconds": time.monotonic() - started,
                "peak_rss_kb": peak_rss_kb(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
