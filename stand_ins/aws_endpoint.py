"""moto's server in this process, on a free loopback port: the local AWS endpoint.

The demo, the benchmarks and the tests that run a function in another process use it. moto is
patched as S3 behaves (stand_ins/moto_fixes.py), and ``reset()`` empties it: moto keeps its state
per Python process, not per server.

moto is configured to execute state machines (its Amazon States Language interpreter), with its
Lambda without Docker: a Lambda task then reaches whatever ``lambda_service`` runs. The
interpreter's own client finds the server through ``MOTO_PORT``, which each endpoint sets while
it runs (and gives back when it stops).
"""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from stand_ins import moto_fixes
from stand_ins.background_server import BackgroundServer
from stand_ins.lambda_service import deployed_function
from stand_ins.local_account import CREDENTIALS, REGION

#: moto's configuration for the local stack: state machines run, Lambda needs no Docker.
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}

WsgiApp = Callable[[dict[str, Any], Any], Any]


def local_client(service: str, endpoint: str, *, region: str = REGION, config: Config | None = None) -> Any:
    """A boto3 client for a local endpoint, with the local credentials."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=config,
    )


class LocalAws(BackgroundServer):
    def __init__(self, *, middleware: Callable[[WsgiApp], WsgiApp] | None = None) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        moto_fixes.serialize_s3_backend()
        moto_fixes.shallow_copy_version_listing()
        moto_fixes.url_encoded_version_listing()
        moto_fixes.escape_rest_api_policy()
        moto_fixes.keep_lambda_logging_config()
        moto_fixes.log_group_kms_keys()
        moto_fixes.state_machine_calls_of_the_provider()
        moto_fixes.unknown_policy_conditions_do_not_apply()
        moto_fixes.aws_managed_policies("AmazonAPIGatewayPushToCloudWatchLogs")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # No access log line per request.
        # The interpreter logs each state's failure with its whole parse tree, at ERROR: the
        # execution's history has the failure, in a line.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        app: WsgiApp = DomainDispatcherApplication(create_backend_app)
        if middleware:
            app = middleware(app)
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
        super().__init__(server, "local-aws")
        self.endpoint = "http://{}:{}".format(*self.address)
        self._previous_port: str | None = None
        self._previous_config: dict[str, Any] = {}

    def start(self) -> LocalAws:
        from moto.core.config import default_user_config

        self._previous_config = {name: default_user_config.get(name) for name in MOTO_CONFIG}
        default_user_config.update(MOTO_CONFIG)
        self._previous_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(self.address[1])
        return super().start()

    def stop(self) -> None:
        from moto.core.config import default_user_config

        super().stop()
        default_user_config.update({name: value for name, value in self._previous_config.items() if value})
        if os.environ.get("MOTO_PORT") == str(self.address[1]):
            if self._previous_port is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = self._previous_port

    def environment(self) -> dict[str, str]:
        """What a process needs to talk to this endpoint, with boto3 knowing nothing of it."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            **CREDENTIALS,
        }

    def client(self, service: str, region: str = REGION) -> Any:
        return local_client(service, self.endpoint, region=region)

    def deployed_code(self, function_name: str, region: str = REGION) -> bytes:
        """The zip a client uploaded for ``function_name``, as this endpoint stores it.

        moto gives no download location for an uploaded zip, so it is read from the backend, which
        runs in this process.
        """
        return deployed_function(function_name, region).code_bytes

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=30).close()
