"""Local stand-ins for what the functions meet in production, all on loopback.

* ``aws_endpoint``: moto's server (with ``moto_fixes``), the local AWS endpoint;
* ``local_terraform``: the project's root module applied to that endpoint;
* ``lambda_host`` and ``lambda_context``: a function in its own process, as Lambda's runtime runs it;
* ``api_gateway`` and ``api_gateway_events``: API Gateway's REST stage and the events it sends;
* ``partner_api_simulator`` and ``synthetic_partner_data``: the partner's HTTP API and its data;
* ``s3_model``: an S3 that answers the way real S3 does where moto does not;
* ``seaweedfs``: SeaweedFS, a real S3 server, fresh on loopback; ``s3_inventory`` counts a bucket on any;
* ``local_system``: all of the above together, as `make demo` runs it.
"""
