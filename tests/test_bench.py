"""The benchmark harness, in its quick mode: it runs, measures, and reports what it saw."""

import json

import pytest

from bench import refresh, run
from bench.s3_operations import s3_operation


@pytest.mark.parametrize(
    ("method", "path", "query", "operation"),
    [
        ("GET", "/b", "versions&max-keys=1000", "ListObjectVersions"),
        ("GET", "/b", "list-type=2&prefix=", "ListObjectsV2"),
        ("GET", "/b", "uploads", "ListMultipartUploads"),
        ("POST", "/b", "delete", "DeleteObjects"),
        ("DELETE", "/b/k", "uploadId=x", "AbortMultipartUpload"),
        ("DELETE", "/b/k", "", "DeleteObject"),
        ("HEAD", "/b", "", "HeadBucket"),
        ("PUT", "/b/k", "partNumber=1&uploadId=x", "UploadPart"),
        ("PUT", "/b/k", "", "PutObject"),
        ("POST", "/b/k", "uploads", "CreateMultipartUpload"),
        ("POST", "/b/k", "uploadId=x", "CompleteMultipartUpload"),
    ],
)
def test_requests_are_counted_by_s3_operation(method, path, query, operation):
    assert s3_operation(method, path, query) == operation


@pytest.mark.slow(seconds=45)
def test_quick_benchmark_runs_and_reports(tmp_path, capsys):
    assert run.main(["--quick", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    purge = {(r["server"], r["name"]): r for r in results["purge"]}
    models = {"s3-model", "s3-model-3-prefixes", "s3-model-sustained", "s3-model-3-prefixes-sustained"}
    assert set(results["meta"]["servers"]) == {"moto", "seaweedfs"} | models
    for server in results["meta"]["servers"]:
        ours = purge[server, "partner-data purge"]
        assert ours["left"] == {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}, server
        assert not ours["left_behind"]
        assert ours["abort_requests"] == 5, (server, ours["requests"])
        # Chunks of a twentieth of a second at S3's rate per prefix (175 keys), a short one at the
        # end of a page, and the entry the next page is listed after.
        assert ours["deletes_per_1000_removed"] <= 2 * 1000 / 175
        assert 0 < ours["client_cpu_ms_per_1000_removed"] < 60_000
        assert purge[server, "s5cmd rm --all-versions"]["skipped"] == "quick run"
    for server in ("moto", "seaweedfs"):
        runbook = purge[server, "original runbook"]
        assert runbook["left_behind"], "the original runbook never aborts multipart uploads"
        assert f"purge_on_{server}_speed_vs_original runbook" in results["headlines"]
    for server in models:
        assert purge[server, "original runbook"]["skipped"] == "not modelled"
        ours = purge[server, "partner-data purge"]
        assert ours["median_deleting_entries_per_second"] > 0, server
        assert ours["median_slowdowns"] >= 0
        assert ours["limit_entries_per_second"] == 3500 * (3 if "3-prefixes" in server else 1)
        assert f"purge_on_{server}_deleting_share_of_limit" in results["headlines"]
        assert ours["median_warm_entries_per_second"] > 0
    assert "median_deleting_entries_per_second" not in purge["moto", "partner-data purge"]
    for server in ("s3-model-3-prefixes", "s3-model-3-prefixes-sustained"):
        assert f"purge_on_{server}_deleting_vs_one_prefix" in results["headlines"]
    assert purge["s3-model-sustained", "partner-data purge"]["objects"] == 600
    assert purge["s3-model", "partner-data purge"]["objects"] == 300
    assert {case["table"] for case in results["refresh"]} == {"establishment", "sale"}
    for case in results["refresh"]:
        for contender in case["contenders"].values():
            assert contender["median_peak_rss_mb"] > 10
            assert contender["rows_per_second"] > 0
    table = (tmp_path / "results.md").read_text()
    assert "| moto | partner-data purge |" in table
    assert "| seaweedfs | partner-data purge |" in table
    assert "Rows on `s3-model*` are **a model, not S3**" in table
    assert (
        "| s3-model-sustained | partner-data purge |"
        in table.split("While deleting, measured by the model")[1]
    )
    assert "**left data behind**" in table
    assert "| establishment | 20,000 | naive |" in table
    assert results["headlines"]["refresh_rows"] == 20_000
    stages = results["refresh_stages"]
    assert stages["rows"] == 20_000
    assert stages["ijson_backend"] == "yajl2_c"
    assert [s["stage"] for s in stages["stages"]] == [label for label, _m, _b in refresh.STAGES]
    assert all(s["seconds"] > 0 for s in stages["stages"][:1] + stages["stages"][-1:])
    assert 0 < stages["export_share_of_parse_only"] < 1
    assert "### Where the time goes (20,000 establishment rows)" in table
    jobs = {r["concurrency"]: r for r in results["purge_job"]}
    assert set(jobs) == {1, 8}
    for job in jobs.values():
        assert (job["state"], job["counts_exact"]) == ("succeeded", True)
        assert job["left"] == {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}
        assert job["removed"] == job["entries"] > 800
        assert job["deleting_entries_per_second"] > 0
        assert job["worker_runs"] >= 1 + 8 + 1, "the plan, a lane per prefix, the sweep"
        assert job["functions_cpu_seconds"] > 0
        assert job["harness_cpu_seconds"] > 0
    assert "purge_job_8_lanes_speed_vs_1_lane" in results["headlines"]
    assert "| 8 |" in table.split("## Purge job: lanes at once")[1]
