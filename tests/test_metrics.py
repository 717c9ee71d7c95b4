"""The metrics both functions write, as CloudWatch's Embedded Metric Format requires them, and the
one list of them that the alarms and the dashboard read (issue 25).

The EMF lines are captured from real runs on moto (a refresh of every dataset, an inline purge) and
checked against the format's specification: its JSON schema (AWS's "Specification: Embedded metric
format"), and the rules a schema cannot say (each dimension and metric named in the directives is
a top-level member, of the right type).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from lambda_shared import metrics
from stand_ins.local_terraform import terraform_console
from support import json_lines, put_versions
from test_purge_handler import BUCKET, call, purge_env, request  # noqa: F401 - fixtures
from test_refresh_handler import invoke, refresh_env, simulator  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "terraform" / "modules" / "monitoring"

#: CloudWatch's units (the MetricDatum Unit values).
UNITS = [
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
    "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
    "Count/Second", "None",
]  # fmt: skip
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                        "Unit": {"enum": UNITS},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def emf_lines(capsys) -> list[dict]:
    output = capsys.readouterr()
    return [line for line in json_lines(output.out + output.err) if "_aws" in line]


def check_emf(line: dict) -> None:
    jsonschema.validate(line, EMF_SCHEMA)
    for directive in line["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                assert isinstance(line.get(name), str), f"dimension {name} is not a top-level string"
                assert len(line[name]) <= 1024
        for metric in directive["Metrics"]:
            value = line.get(metric["Name"])
            assert isinstance(value, int | float), f"metric {metric['Name']} is not a top-level number"
            assert not isinstance(value, bool)


def test_a_refresh_writes_one_valid_emf_line_per_export(refresh_env, simulator, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("METRICS_NAMESPACE", "partner-data-test")
    capsys.readouterr()
    invoke({"date": "2026-11-20"})
    lines = emf_lines(capsys)
    assert sorted(line["Dataset"] for line in lines) == ["category", "establishment", "sale"]
    for line in lines:
        check_emf(line)
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "partner-data-test"
        assert directive["Dimensions"] == [["Dataset"]]
        assert {metric["Name"] for metric in directive["Metrics"]} == {
            "ExportRows", "ExportBytes", "ExportSeconds", "ExportsWritten", "ExportsFailed",
        }  # fmt: skip
        assert (line["ExportsWritten"], line["ExportsFailed"]) == (1, 0)
        assert line["date"] == "2026-11-20"
    sale = next(line for line in lines if line["Dataset"] == "sale")
    head = refresh_env.head_object(Bucket="partner-data-refresh", Key="sale/2026-11-20.csv")
    assert sale["ExportRows"] == int(head["Metadata"]["rows"])
    assert sale["ExportBytes"] == head["ContentLength"]


def test_a_failed_export_counts_as_failed_and_gives_no_rows(refresh_env, simulator, capsys):  # noqa: F811
    simulator.state.payloads["sale"] = b"{}"
    capsys.readouterr()
    with pytest.raises(Exception, match="exports failed"):
        invoke({"date": "2026-11-20", "datasets": ["sale"]})
    (line,) = emf_lines(capsys)
    check_emf(line)
    assert (line["ExportsWritten"], line["ExportsFailed"]) == (0, 1)
    assert "ExportRows" not in line


def test_an_inline_purge_writes_a_valid_emf_line(purge_env, capsys):  # noqa: F811
    put_versions(BUCKET, [f"k{n}" for n in range(5)], versions=2)
    capsys.readouterr()
    call(request())
    (line,) = emf_lines(capsys)
    check_emf(line)
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Mode"]]
    assert line["Mode"] == "inline"
    assert (line["PurgeVersionsDeleted"], line["PurgesSucceeded"], line["PurgesFailed"]) == (10, 1, 0)


def test_only_listed_metrics_can_be_written():
    with pytest.raises(ValueError, match="not in METRICS"):
        metrics.emf_line({"Dataset": "sale"}, {"Unlisted": 1}, namespace_name="x")


def test_the_namespace_is_the_stacks_or_the_default():
    assert metrics.namespace({"METRICS_NAMESPACE": " stack-a "}) == "stack-a"
    assert metrics.namespace({}) == metrics.DEFAULT_NAMESPACE


# One list, checked both ways: what the alarms and the dashboard read is what the functions write --


@pytest.fixture(scope="module")
def metrics_read(terraform_installed, tmp_path_factory) -> list[str]:
    """Every metric of the functions' namespace the monitoring module's alarms and widgets read,
    as Terraform evaluates it (its ``own_metrics_read``), with a volume floor so that every alarm
    is there."""
    work = tmp_path_factory.mktemp("monitoring")
    shutil.copytree(
        MONITORING, work, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".terraform*", "tests")
    )
    variables = {
        "name": "x",
        "region": "sa-east-1",
        "metrics_namespace": "ns",
        "datasets": ["sale"],
        "refresh_function_name": "f",
        "failure_queue_name": "q",
        "purge_state_machine_arn": "arn",
        "min_rows": {"sale": 5},
    }
    return json.loads(json.loads(terraform_console(work, "jsonencode(local.own_metrics_read)\n", variables)))


def test_every_metric_an_alarm_or_widget_reads_is_one_the_functions_write(metrics_read):
    assert metrics_read
    assert set(metrics_read) <= set(metrics.METRICS)


def test_every_metric_the_functions_write_is_on_the_dashboard_or_an_alarm(metrics_read):
    assert set(metrics.METRICS) <= set(metrics_read)


def test_the_functions_write_every_listed_metric():
    """The names the functions pass to ``emit`` are the list (a name emitted only in some branch
    still appears in the source)."""
    sources = "".join(
        path.read_text() for path in (ROOT / "functions").rglob("*.py") if path.name != "metrics.py"
    )
    assert {name for name in metrics.METRICS if f'"{name}"' in sources or f"{name}=" in sources} == set(
        metrics.METRICS
    )
