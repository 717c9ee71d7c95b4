"""A memory limit for a child process, as Lambda's function memory limits a function.

A cgroup where the machine lets this process make one (the v1 memory controller, or cgroup v2's
``memory.max``), so that going past the limit gets the process killed, as Lambda does; otherwise
``RLIMIT_AS``, under which an allocation past the limit fails (MemoryError) instead. ``kind`` says
which one applies.
"""

from __future__ import annotations

import contextlib
import os
import resource
import uuid
from pathlib import Path

CGROUP_V1 = Path("/sys/fs/cgroup/memory")
CGROUP_V2_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))


class MemoryLimit:
    def __init__(self, megabytes: int) -> None:
        self.bytes = megabytes * 1024 * 1024
        self._group: Path | None = None
        self._procs: Path | None = None
        self.kind = self._make_group() or "rlimit-as"

    def _make_group(self) -> str | None:
        name = f"memory-limit-{uuid.uuid4().hex[:12]}"
        candidates = [(CGROUP_V1 / name, "memory.limit_in_bytes", "cgroup v1")] + [
            (root / name, "memory.max", "cgroup v2") for root in CGROUP_V2_ROOTS
        ]
        for group, limit_file, kind in candidates:
            try:
                group.mkdir()
            except OSError:
                continue
            try:
                (group / limit_file).write_text(str(self.bytes))
                swap = group / ("memory.memsw.limit_in_bytes" if kind == "cgroup v1" else "memory.swap.max")
                if swap.exists():
                    with contextlib.suppress(OSError):
                        swap.write_text(str(self.bytes) if kind == "cgroup v1" else "0")
            except OSError:
                with contextlib.suppress(OSError):
                    group.rmdir()
                continue
            self._group, self._procs = group, group / "cgroup.procs"
            return kind
        return None

    def apply_in_child(self) -> None:
        """Run in the child between fork and exec (``preexec_fn``)."""
        if self._procs is not None:
            self._procs.write_text(str(os.getpid()))
        else:
            resource.setrlimit(resource.RLIMIT_AS, (self.bytes, self.bytes))

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the group for memory (cgroups only)."""
        if self._group is None:
            return False
        for name, key in (("memory.oom_control", "oom_kill"), ("memory.events", "oom_kill")):
            with contextlib.suppress(OSError):
                for line in (self._group / name).read_text().splitlines():
                    field, _, value = line.partition(" ")
                    if field == key:
                        return int(value) > 0
        return False

    def remove(self) -> None:
        if self._group is not None:
            with contextlib.suppress(OSError):
                self._group.rmdir()
