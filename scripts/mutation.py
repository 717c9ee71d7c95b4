#!/usr/bin/env python3
"""`make mutation`: mutation testing of the purge's security checks, with cosmic-ray.

Each mutant of ``auth.py`` (the password check), ``continuation.py`` (continuations and their
keys) and ``request.py`` (request parsing) is tested by their fast unit tests,
``tests/test_purge_security.py`` and ``tests/test_purge_request.py``. cosmic-ray edits the sources
in place, so every worker (one per CPU) has its own copy of them. Prints the score and each
mutant that survived; exits 1 when one survives that ``tests/mutation_equivalents.json`` does not
explain (a mutant no test can tell apart from the original, with the reason).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = tuple(f"functions/purge_bucket/{name}.py" for name in ("auth", "continuation", "request"))
TESTS = ("tests/test_purge_security.py", "tests/test_purge_request.py")
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def copy_sources(dest: Path) -> Path:
    for name in ("functions", "scripts", "tests"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".terraform*"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def config(workers: list[str], python: str) -> str:
    # No conftest: these tests need no AWS stand-in, and skipping moto's import halves each run.
    command = f"{python} -m pytest -x -q -p no:cacheprovider --noconftest {' '.join(TESTS)}"
    return f"""[cosmic-ray]
module-path = {json.dumps(list(MODULES))}
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    bin_dir = Path(sys.executable).parent
    started = time.monotonic()
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
            session_dir = copy_sources(work_dir / "session")
            (session_dir / "cosmic-ray.toml").write_text(
                config([f"http://127.0.0.1:{port}" for port in ports], sys.executable)
            )
            time.sleep(2)  # The workers' HTTP servers start.
            for step in ("init", "exec"):
                cosmic_ray = [bin_dir / "cosmic-ray", step, "cosmic-ray.toml", "session.sqlite"]
                subprocess.run(cosmic_ray, cwd=session_dir, check=True)
            report = subprocess.run(
                [bin_dir / "cr-report", "session.sqlite"],
                cwd=session_dir,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            left = survivors(session_dir / "session.sqlite", bin_dir)
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait()
    total = int(next(line for line in report.splitlines() if line.startswith("total jobs:")).split(":")[1])
    equivalents = json.loads(EQUIVALENTS.read_text())
    unexplained = [s for s in left if not explained(s, equivalents)]
    killed = total - len(left)
    modules = ", ".join(Path(m).name for m in MODULES)
    print(f"\nmutation: {total} mutants of {modules} in {time.monotonic() - started:.0f} s")
    print(
        f"  killed {killed} ({killed / total:.1%}); survived {len(left)},"
        f" of which {len(left) - len(unexplained)} are equivalent"
    )
    for survivor in left:
        reason = explained(survivor, equivalents)
        status = f"equivalent: {reason['why']}" if reason else "NOT KILLED"
        diff = survivor["diff"].replace("\n", "\n    ")
        print(f"\n  {survivor['module']} {survivor['operator']} ({status})\n    {diff}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
