"""A socket server served from a daemon thread: ``start()``, ``stop()``, or ``with``.

The partner API simulator, the API Gateway stand-in and the local AWS endpoint are all one.
"""

from __future__ import annotations

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
        """Serves in the calling thread until Ctrl-C (the command-line use)."""
        try:
            self.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
