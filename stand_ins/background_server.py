"""A socket server served from a daemon thread: ``start()``, ``stop()``, or ``with``.

The partner API simulator, the API Gateway stand-in and the local AWS endpoint are all one.
"""

from __future__ import annotations

import signal
import socketserver
import threading
from typing import Self

#: How often the serving thread looks for ``stop()``: socketserver's 0.5 s made every stop wait.
POLL_SECONDS = 0.02


class BackgroundServer:
    def __init__(self, server: socketserver.BaseServer, name: str) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, name=name, daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]  # type: ignore[misc]
        return str(host), int(port)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def serve_until_interrupted(self) -> None:
        """Serves until Ctrl-C or SIGTERM (the command-line use)."""
        self.start()
        try:
            wait_for_interrupt()
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def wait_for_interrupt() -> None:
    """Returns on Ctrl-C or SIGTERM (call it from the main thread).

    The handlers are installed, not inherited: a process started in the background of a script
    inherits SIGINT ignored, and would otherwise never stop on Ctrl-C.
    """
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
