"""The project's Terraform, applied to the local AWS endpoint as a user applies it: an example.

Used by the real apply/destroy tests and by `make demo`. ``terraform/`` (the module and its
examples) is copied into a work folder, and one file is added to the example that is applied:
``zz_local_override.tf``, which points the example's AWS provider at the local endpoint (every
service the stack uses, path-style S3, fake keys). Nothing else differs from what a user applies.
Secrets reach Terraform as ``TF_VAR_...`` environment variables, never on a command line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from stand_ins.local_account import CREDENTIALS

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_DIR = ROOT / "terraform"
#: The purge API's OpenAPI document, which terraform/main.tf reads (its purge_api_document output).
API_DOCUMENT = Path("docs", "partner-api", "openapi.yaml")
EXAMPLES_DIR = TERRAFORM_DIR / "examples"
#: The examples' call of the module: its outputs are the ``partner_data`` output.
MODULE_CALL = "partner_data"
#: Every service the stack's resources and data sources call.
SERVICES = (
    "apigateway",
    "cloudwatch",
    "dynamodb",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "scheduler",
    "sns",
    "sfn",
    "sqs",
    "ssm",
    "sts",
)
OVERRIDE_FILE = "zz_local_override.tf"
#: What a copy of terraform/ leaves out: Terraform's working files and the module's own tests.
COPY_IGNORES = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*", "tests")


class TerraformError(Exception):
    """A terraform command failed; the message holds its output."""

    def __init__(self, command: Sequence[str], output: str) -> None:
        super().__init__(f"terraform {' '.join(command)} failed:\n{output}")
        self.output = output


def terraform_available() -> bool:
    return shutil.which("terraform") is not None


def plugin_mirror() -> str | None:
    """The offline provider mirror this machine kind ships, if any (TF_PLUGIN_MIRROR overrides)."""
    if "TF_PLUGIN_MIRROR" in os.environ:
        return os.environ["TF_PLUGIN_MIRROR"] or None
    found = subprocess.run(
        ["find", "/", "-maxdepth", "3", "-type", "d", "-name", "*tf-plugins*"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return found[0] if found else None


def _mirror_args() -> list[str]:
    """`terraform init`'s arguments for the offline mirror, when there is one."""
    mirror = plugin_mirror()
    return [f"-plugin-dir={mirror}"] if mirror else []


def terraform_console(directory: Path, expression: str, variables: Mapping[str, Any]) -> str:
    """What `terraform console` prints for ``expression`` in ``directory`` (a module, initialised
    here first if it is not yet), with ``variables``."""
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull}
    if not (directory / ".terraform").is_dir():
        init = ["terraform", "init", "-backend=false", "-input=false", *_mirror_args()]
        subprocess.run(init, cwd=directory, capture_output=True, env=env, check=True)
    command = ["console", *(f"-var={name}={_hcl_value(value)}" for name, value in variables.items())]
    result = subprocess.run(
        ["terraform", *command],
        input=expression,
        cwd=directory,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise TerraformError(command, result.stdout + result.stderr)
    return result.stdout.strip()


def provider_override(endpoint: str, alias: str | None = None) -> str:
    """An override of the root's AWS provider (the one with ``alias``, if it has one)."""
    endpoints = "\n".join(f'    {service:<10} = "{endpoint}"' for service in SERVICES)
    alias_line = f'  alias                       = "{alias}"\n' if alias else ""
    return f"""# Written by stand_ins/local_terraform.py: the AWS provider talks to the local endpoint.
provider "aws" {{
{alias_line}  access_key                  = "{CREDENTIALS["AWS_ACCESS_KEY_ID"]}"
  secret_key                  = "{CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


class LocalTerraform:
    """``terraform/examples/<example>`` (with the module it calls) copied into ``work_dir`` and
    pointed at ``endpoint``."""

    def __init__(
        self,
        endpoint: str,
        work_dir: Path,
        *,
        example: str = "minimal",
        secrets: Mapping[str, str] | None = None,
        provider_log: Path | None = None,
    ) -> None:
        """``provider_log``: a file every command appends the AWS provider's debug log to (each
        AWS request and answer it made, with its service, operation and resource type)."""
        copy = work_dir / "terraform"
        shutil.copytree(TERRAFORM_DIR, copy, ignore=COPY_IGNORES)
        # The module reads the purge API's OpenAPI document beside it, as a git source has it.
        (work_dir / API_DOCUMENT.parent).mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / API_DOCUMENT, work_dir / API_DOCUMENT)
        if not (copy / "examples" / example).is_dir():
            raise FileNotFoundError(f"terraform/examples has no {example}")
        self._point_at(endpoint, copy / "examples" / example, secrets, provider_log)

    @classmethod
    def in_directory(
        cls, endpoint: str, directory: Path, *, secrets: Mapping[str, str] | None = None
    ) -> LocalTerraform:
        """A root the caller wrote at ``directory`` (with its AWS provider), pointed at ``endpoint``."""
        terraform = cls.__new__(cls)
        terraform._point_at(endpoint, directory, secrets, None)
        return terraform

    def _point_at(
        self, endpoint: str, directory: Path, secrets: Mapping[str, str] | None, provider_log: Path | None
    ) -> None:
        self.dir = directory
        self.secrets = dict(secrets or {})
        self.provider_log = provider_log
        text = "\n".join(path.read_text() for path in self.dir.glob("*.tf"))
        alias = re.search(r'(?m)^provider "aws" \{\n\s*alias\s*=\s*"(\w+)"', text)
        (self.dir / OVERRIDE_FILE).write_text(provider_override(endpoint, alias[1] if alias else None))
        self.state_file = self.dir / "terraform.tfstate"
        self.last_apply_log = ""

    def _environment(self) -> dict[str, str]:
        environment = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
        cli_config = environment.get("TF_CLI_CONFIG_FILE")
        if cli_config and not os.path.exists(cli_config):
            environment["TF_CLI_CONFIG_FILE"] = os.devnull
        # Nothing a user has in their environment may point the provider at real AWS.
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            environment.pop(name, None)
        environment.update(CREDENTIALS)
        environment.update({f"TF_VAR_{name}": value for name, value in self.secrets.items()})
        if self.provider_log is not None:
            environment.update(TF_LOG_PROVIDER="DEBUG", TF_LOG_PATH=str(self.provider_log))
        return environment

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [*args, "-no-color"]
        result = subprocess.run(
            ["terraform", f"-chdir={self.dir}", *command],
            capture_output=True,
            text=True,
            env=self._environment(),
            check=False,
        )
        if check and result.returncode != 0:
            raise TerraformError(command, result.stdout + result.stderr)
        return result

    def init(self) -> None:
        self.run("init", "-input=false", *_mirror_args())

    def apply(self, variables: Mapping[str, Any], *, targets: Sequence[str] = ()) -> dict[str, Any]:
        """Applies with ``variables`` (non-secret), only ``targets`` if any; returns the outputs.
        What the apply printed, in the order Terraform did things, is kept in ``last_apply_log``."""
        target_args = [f"-target={target}" for target in targets]
        result = self.run("apply", "-auto-approve", "-input=false", *self._var_args(variables), *target_args)
        self.last_apply_log = result.stdout
        return self.outputs()

    def plan_exit_code(self, variables: Mapping[str, Any]) -> tuple[int, str]:
        """``plan -detailed-exitcode``: 0 no changes, 2 changes, 1 an error; and its output."""
        result = self.run(
            "plan", "-detailed-exitcode", "-input=false", *self._var_args(variables), check=False
        )
        return result.returncode, result.stdout + result.stderr

    def plan_json(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """A saved plan, as ``terraform show -json`` gives it."""
        self.run("plan", "-input=false", "-out=local.tfplan", *self._var_args(variables))
        return json.loads(self.run("show", "-json", "local.tfplan").stdout)

    def destroy(
        self, variables: Mapping[str, Any], *targets: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        target_args = [f"-target={target}" for target in targets]
        return self.run(
            "destroy", "-auto-approve", "-input=false", *self._var_args(variables), *target_args, check=check
        )

    def outputs(self) -> dict[str, Any]:
        """The module's outputs, and beside them the example's own."""
        raw = json.loads(self.run("output", "-json").stdout)
        values = {name: output["value"] for name, output in raw.items()}
        return {**values.pop(MODULE_CALL, {}), **values}

    def state_text(self) -> str:
        return self.state_file.read_text() if self.state_file.exists() else ""

    @staticmethod
    def _var_args(variables: Mapping[str, Any]) -> list[str]:
        return [f"-var={name}={_hcl_value(value)}" for name, value in variables.items()]


def targets_without(excluded: Collection[str], example: str = "minimal") -> list[str]:
    """``-target`` addresses for every resource an example applies but ``excluded`` (addresses
    inside the module, as ``module.data_bucket.aws_s3_bucket_lifecycle_configuration.this``).

    The example's own resources, then the module's: whole child modules where nothing inside is
    excluded, their resources one by one where something is.
    """
    targets = _resource_addresses(EXAMPLES_DIR / example)
    prefix = f"module.{MODULE_CALL}."
    inside_module = [address for address in _resource_addresses(TERRAFORM_DIR) if address not in excluded]
    for name, source in _module_calls(TERRAFORM_DIR).items():
        call = f"module.{name}."
        inside = {address.removeprefix(call) for address in excluded if address.startswith(call)}
        if not inside:
            inside_module.append(f"module.{name}")
            continue
        unknown = inside - set(_resource_addresses(TERRAFORM_DIR / source))
        if unknown:
            raise ValueError(f"module.{name} has no {', '.join(sorted(unknown))}")
        inside_module += [
            call + address for address in _resource_addresses(TERRAFORM_DIR / source) if address not in inside
        ]
    return targets + [prefix + address for address in inside_module]


def _resource_addresses(module_dir: Path) -> list[str]:
    text = "\n".join(path.read_text() for path in sorted(module_dir.glob("*.tf")))
    return [f"{kind}.{name}" for kind, name in re.findall(r'^resource "(\w+)" "(\w+)"', text, re.MULTILINE)]


def _module_calls(module_dir: Path) -> dict[str, str]:
    text = "\n".join(path.read_text() for path in sorted(module_dir.glob("*.tf")))
    calls = re.findall(r'^module "(\w+)" \{\n\s*source\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return dict(calls)


def _hcl_value(value: Any) -> str:
    """A -var value: strings as they are, everything else as JSON (which HCL reads)."""
    return value if isinstance(value, str) else json.dumps(value)
