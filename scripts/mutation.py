#!/usr/bin/env python3
"""`make mutation`: mutation testing of the security-critical code, with cosmic-ray.

Three suites, each a set of modules and the fast unit tests that must kill their mutants:

* purge checks: ``api/auth.py`` (the password check), ``api/request.py`` (request parsing, the
  purge's and the job status's) and ``job/tasks.py`` (the tasks the job's worker accepts), by
  ``tests/test_purge_security.py`` and ``tests/test_purge_request.py``;
* secret redaction: ``lambda_shared/logs.py`` (what keeps the password and the partner's token out
  of every log line), by ``tests/test_logs.py``;
* partner bytes: ``refresh_partner_data/body_checks.py`` (what of the partner's response the JSON
  parser must not see: long numbers, lone surrogates, values and bodies past their limits) and
  ``partner_text.py`` (partner text cut and escaped in messages), by ``tests/test_refresh_body.py``.

cosmic-ray edits the sources in place, so every worker (one per CPU) has its own copy of them.
Prints the score and each mutant that survived; exits 1 when one survives that
``tests/mutation_equivalents.json`` does not explain (a mutant no test can tell apart from the
original, with the reason).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Suite:
    name: str
    modules: tuple[str, ...]
    tests: tuple[str, ...]


SUITES = (
    Suite(
        "purge checks",
        tuple(f"functions/purge_bucket/{name}.py" for name in ("api/auth", "api/request", "job/tasks")),
        ("tests/test_purge_security.py", "tests/test_purge_request.py"),
    ),
    Suite("secret redaction", ("functions/lambda_shared/logs.py",), ("tests/test_logs.py",)),
    Suite(
        "partner bytes",
        ("functions/refresh_partner_data/body_checks.py", "functions/refresh_partner_data/partner_text.py"),
        ("tests/test_refresh_body.py",),
    ),
)
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def copy_sources(dest: Path) -> Path:
    for name in ("functions", "scripts", "stand_ins", "bench", "tests"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".terraform*"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def config(suite: Suite, workers: list[str], python: str) -> str:
    # No conftest: these tests need no AWS stand-in, and skipping moto's import halves each run.
    command = f"{python} -m pytest -x -q -p no:cacheprovider --noconftest {' '.join(suite.tests)}"
    return f"""[cosmic-ray]
module-path = {json.dumps(list(suite.modules))}
timeout = 60.0
excluded-modules = []
test-command = {json.dumps(command)}

[cosmic-ray.distributor]
name = "http"

[cosmic-ray.distributor.http]
worker-urls = {json.dumps(workers)}
"""


def survivors(session: Path, bin_dir: Path) -> list[dict]:
    """Every mutant that no test killed: its module, operator, source line and diff."""
    dump = subprocess.run(
        [bin_dir / "cosmic-ray", "dump", session], capture_output=True, text=True, check=True
    ).stdout
    found = []
    for line in dump.splitlines():
        job, result = json.loads(line)
        if not result or result.get("test_outcome") != "survived":
            continue
        mutation = job["mutations"][0]
        lines = (ROOT / mutation["module_path"]).read_text().splitlines()
        changed = [
            d
            for d in (result.get("diff") or "").splitlines()
            if d[:1] in "+-" and d[:3] not in ("+++", "---")
        ]
        found.append(
            {
                "module": Path(mutation["module_path"]).name,
                "operator": mutation["operator_name"].rsplit("/", 1)[-1],
                "line": lines[mutation["start_pos"][0] - 1].strip(),
                "diff": "\n".join(changed),
            }
        )
    return found


def explained(survivor: dict, equivalents: list[dict]) -> dict | None:
    """The entry that explains ``survivor``: same module and line, same operator or "*"."""
    for equivalent in equivalents:
        same_place = (survivor["module"], survivor["line"]) == (equivalent["module"], equivalent["line"])
        if same_place and equivalent["operator"] in ("*", survivor["operator"]):
            return equivalent
    return None


def run_suite(suite: Suite, work_dir: Path, workers: list[str], bin_dir: Path) -> tuple[int, list[dict]]:
    """Runs every mutant of the suite's modules on the workers: (how many, the survivors)."""
    session_dir = copy_sources(work_dir / f"session-{suite.name.replace(' ', '-')}")
    (session_dir / "cosmic-ray.toml").write_text(config(suite, workers, sys.executable))
    for step in ("init", "exec"):
        cosmic_ray = [bin_dir / "cosmic-ray", step, "cosmic-ray.toml", "session.sqlite"]
        subprocess.run(cosmic_ray, cwd=session_dir, check=True)
    report = subprocess.run(
        [bin_dir / "cr-report", "session.sqlite"], cwd=session_dir, capture_output=True, text=True, check=True
    ).stdout
    total = int(next(line for line in report.splitlines() if line.startswith("total jobs:")).split(":")[1])
    return total, survivors(session_dir / "session.sqlite", bin_dir)


def report(suite: Suite, total: int, left: list[dict], equivalents: list[dict], seconds: float) -> bool:
    """Prints the suite's score and survivors; True when every survivor is explained."""
    unexplained = [s for s in left if not explained(s, equivalents)]
    killed = total - len(left)
    modules = ", ".join(Path(m).name for m in suite.modules)
    print(f"\nmutation, {suite.name}: {total} mutants of {modules} in {seconds:.0f} s")
    print(
        f"  killed {killed} ({killed / total:.1%}); survived {len(left)},"
        f" of which {len(left) - len(unexplained)} are equivalent"
    )
    for survivor in left:
        reason = explained(survivor, equivalents)
        status = f"equivalent: {reason['why']}" if reason else "NOT KILLED"
        diff = survivor["diff"].replace("\n", "\n    ")
        print(f"\n  {survivor['module']} {survivor['operator']} ({status})\n    {diff}")
    return not unexplained


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--suite", choices=[suite.name for suite in SUITES], help="only this suite")
    args = parser.parse_args(argv)
    suites = [suite for suite in SUITES if args.suite in (None, suite.name)]
    bin_dir = Path(sys.executable).parent
    equivalents = json.loads(EQUIVALENTS.read_text())
    results = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as work:
        work_dir = Path(work)
        ports = [free_port() for _ in range(args.jobs)]
        workers = []
        try:
            for index, port in enumerate(ports):
                copy = copy_sources(work_dir / f"worker-{index}")
                workers.append(
                    subprocess.Popen(
                        [bin_dir / "cosmic-ray", "--verbosity", "ERROR", "http-worker", "--port", str(port)],
                        cwd=copy,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            time.sleep(2)  # The workers' HTTP servers start.
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            for suite in suites:
                started = time.monotonic()
                total, left = run_suite(suite, work_dir, urls, bin_dir)
                results.append((suite, total, left, time.monotonic() - started))
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait()
    passed = [report(suite, total, left, equivalents, seconds) for suite, total, left, seconds in results]
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
