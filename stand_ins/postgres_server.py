#!/usr/bin/env python3
"""A real PostgreSQL 16 server for the tests, from the pgserver wheel (PyPI), in its own virtualenv.

pgserver's wheels stop at Python 3.12, and the tests run on 3.13 (the Lambda runtime), so this
script runs under ``.venv-pgserver`` (``make pgserver``): it starts a server on ``PGDATA`` (as the
unprivileged user pgserver makes when run as root), prints one line of JSON with the socket's
folder and port, and stops the server when its standard input closes.

    .venv-pgserver/bin/python stand_ins/postgres_server.py /tmp/pgdata
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pgserver  # type: ignore[import-not-found]


def main() -> None:
    server = pgserver.get_server(Path(sys.argv[1]), cleanup_mode="stop")
    uri = urlsplit(server.get_uri())
    socket_dir = parse_qs(uri.query)["host"][0]
    print(json.dumps({"socket_dir": socket_dir, "port": uri.port or 5432, "user": uri.username}), flush=True)
    sys.stdin.read()  # Until the test closes it.
    server.cleanup()


if __name__ == "__main__":
    main()
