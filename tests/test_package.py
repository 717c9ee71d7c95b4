"""`make package`: reproducible, minimal zips that work from an empty folder."""

import base64
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scripts import package
from stand_ins.api_gateway_events import proxy_event
from stand_ins.lambda_host import LambdaProcess, runtime_python
from stand_ins.lambda_service import unpack
from stand_ins.local_system import JOBS_TABLE, create_jobs_table
from stand_ins.partner_api_simulator import PartnerApiSimulator

ROOT = Path(__file__).resolve().parents[1]
WHEEL_CACHE = ROOT / ".cache" / "wheels"
HOST_ARCH = package.ARCHITECTURE_OF_MACHINE[platform.machine()]
ELF_MACHINE = {"x86_64": 62, "arm64": 183}


def copy_project(dest: Path, *, mtime: float) -> Path:
    """A fresh copy of what `make package` reads, every file's mtime set to ``mtime`` (± noise)."""
    shutil.copytree(ROOT / "functions", dest / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "package.py", dest / "scripts" / "package.py")
    noise = random.Random(str(dest))
    for path in dest.rglob("*"):
        stamp = mtime + noise.uniform(0, 86_400)
        os.utime(path, (stamp, stamp))
    return dest


def run_package(root: Path, arch: str = "arm64", umask: int = 0o022) -> str:
    def set_umask() -> None:
        os.umask(umask)

    result = subprocess.run(
        [
            sys.executable,
            str(root / "scripts" / "package.py"),
            "--arch",
            arch,
            "--wheel-cache",
            str(WHEEL_CACHE),
        ],
        capture_output=True,
        text=True,
        preexec_fn=set_umask,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def dist_bytes(root: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((root / "dist").iterdir())}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """The project built once per architecture, from a copy."""
    roots = {}
    for arch in sorted({"arm64", HOST_ARCH}):
        root = copy_project(tmp_path_factory.mktemp(f"build-{arch}"), mtime=time.time())
        package.build(arch, root / "dist", functions_dir=root / "functions", cache=WHEEL_CACHE)
        roots[arch] = root
    return roots


def test_two_fresh_copies_with_other_mtimes_and_umask_build_identical_bytes(tmp_path):
    first = copy_project(tmp_path / "one", mtime=1_000_000_000)
    second = copy_project(tmp_path / "deeper" / "two" / "checkout", mtime=time.time())
    run_package(first, umask=0o022)
    run_package(second, umask=0o077)
    first_bytes, second_bytes = dist_bytes(first), dist_bytes(second)
    assert set(first_bytes) == {"manifest.json", "purge_bucket.zip", "refresh_partner_data.zip"}
    assert first_bytes == second_bytes
    assert str(tmp_path) not in first_bytes["manifest.json"].decode()


def zip_names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename for info in archive.infolist() if not info.is_dir()}


def sources(package_name: str) -> set[str]:
    folder = ROOT / "functions" / package_name
    return {
        p.relative_to(ROOT / "functions").as_posix()
        for p in folder.rglob("*.py")
        if "__pycache__" not in p.parts
    }


def test_purge_zip_holds_exactly_its_modules_and_the_shared_ones(built):
    names = zip_names(built["arm64"] / "dist" / "purge_bucket.zip")
    assert names == {"handler.py"} | sources("purge_bucket") | sources("lambda_shared")


def test_refresh_zip_holds_its_modules_and_its_pinned_wheels_only(built):
    names = zip_names(built["arm64"] / "dist" / "refresh_partner_data.zip")
    own = {"handler.py"} | sources("refresh_partner_data") | sources("lambda_shared")
    assert own <= names
    vendored = names - own
    assert {name.split("/")[0] for name in vendored} == {
        "ijson",
        "ijson.libs",
        "ijson-3.6.0.dist-info",
        "tzdata",
        "tzdata-2026.6.dist-info",
    }
    assert "tzdata/zoneinfo/America/Sao_Paulo" in vendored
    assert not any(name.startswith(("boto3", "botocore", "urllib3")) for name in names)
    assert not any("__pycache__" in name or name.endswith(".pyc") or "/tests/" in name for name in names)


@pytest.mark.parametrize("zip_name", ["purge_bucket.zip", "refresh_partner_data.zip"])
def test_entries_have_fixed_dates_modes_and_order(built, zip_name):
    with zipfile.ZipFile(built["arm64"] / "dist" / zip_name) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.create_system == 3
        mode = info.external_attr >> 16
        assert mode == (0o040755 if info.is_dir() else 0o100644), info.filename
        assert not info.filename.startswith("/")
        assert ".." not in info.filename.split("/")


def test_manifest_describes_the_zips(built):
    dist = built["arm64"] / "dist"
    manifest = json.loads((dist / "manifest.json").read_text())
    assert manifest["runtime"] == "python3.13"
    assert manifest["architecture"] == "arm64"
    assert set(manifest["functions"]) == {"purge_bucket", "refresh_partner_data"}
    for details in manifest["functions"].values():
        data = (dist / details["zip"]).read_bytes()
        assert details["size"] == len(data)
        assert details["sha256"] == hashlib.sha256(data).hexdigest()
        assert details["sha256_base64"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
        assert set(details["files"]) == zip_names(dist / details["zip"])


def test_vendored_c_extension_is_built_for_the_chosen_architecture(built):
    for arch, root in built.items():
        with zipfile.ZipFile(root / "dist" / "refresh_partner_data.zip") as archive:
            (extension,) = [
                n for n in archive.namelist() if n.startswith("ijson/backends/_yajl2.cpython-313")
            ]
            header = archive.read(extension)[:20]
        assert header[:4] == b"\x7fELF"
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[arch], arch


def test_architectures_differ_only_where_a_wheel_does(built):
    if len(built) == 1:
        pytest.skip("this machine is arm64: the two builds are the same build")
    arm, host = (built[arch] / "dist" for arch in ("arm64", HOST_ARCH))
    assert (arm / "purge_bucket.zip").read_bytes() == (host / "purge_bucket.zip").read_bytes()
    assert (arm / "refresh_partner_data.zip").read_bytes() != (host / "refresh_partner_data.zip").read_bytes()


def test_nothing_changed_rewrites_nothing(built, capsys):
    dist = built["arm64"] / "dist"
    before = {path: path.stat().st_mtime_ns for path in dist.iterdir()}
    assert package.main(["--arch", "arm64", "--out", str(dist), "--wheel-cache", str(WHEEL_CACHE)]) == 0
    output = capsys.readouterr().out
    assert output.count("unchanged") == 3
    assert "written" not in output
    assert {path: path.stat().st_mtime_ns for path in dist.iterdir()} == before


def test_the_command_reports_a_packaging_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(package, "FUNCTIONS", ("no_such_function",))
    assert package.main(["--out", str(tmp_path), "--wheel-cache", str(WHEEL_CACHE)]) == 1
    assert "is not a Python package" in capsys.readouterr().err


def test_a_changed_source_changes_exactly_the_zips_that_hold_it(tmp_path):
    root = copy_project(tmp_path / "project", mtime=time.time())
    run_package(root)
    original = json.loads((root / "dist" / "manifest.json").read_text())["functions"]

    with open(root / "functions" / "purge_bucket" / "api" / "responses.py", "a") as source:
        source.write("# a change\n")
    output = run_package(root)
    changed = json.loads((root / "dist" / "manifest.json").read_text())["functions"]
    assert changed["purge_bucket"]["sha256"] != original["purge_bucket"]["sha256"]
    assert changed["refresh_partner_data"]["sha256"] == original["refresh_partner_data"]["sha256"]
    assert "purge_bucket.zip" in output.split("written")[0]

    with open(root / "functions" / "lambda_shared" / "logs.py", "a") as source:
        source.write("# a change\n")
    run_package(root)
    shared = json.loads((root / "dist" / "manifest.json").read_text())["functions"]
    assert shared["purge_bucket"]["sha256"] != changed["purge_bucket"]["sha256"]
    assert shared["refresh_partner_data"]["sha256"] != changed["refresh_partner_data"]["sha256"]


def test_editor_droppings_and_caches_stay_out(tmp_path):
    root = copy_project(tmp_path / "project", mtime=time.time())
    run_package(root)
    clean = dist_bytes(root)
    package_dir = root / "functions" / "purge_bucket"
    (package_dir / "__pycache__").mkdir()
    (package_dir / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (package_dir / ".handler.py.swp").write_bytes(b"\0")
    (package_dir / "notes.txt").write_text("not code")
    run_package(root)
    assert dist_bytes(root) == clean


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ijson>=3\n", "pin every requirement"),
        ("ijson==3.6.0\n", "has no --hash"),
    ],
)
def test_requirements_must_be_pinned_with_hashes(tmp_path, text, message):
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    with pytest.raises(package.PackagingError, match=message):
        package.parse_requirements(path)


def test_an_unknown_architecture_is_refused(tmp_path):
    with pytest.raises(package.PackagingError, match="unknown architecture"):
        package.build("sparc", tmp_path, functions_dir=ROOT / "functions", cache=WHEEL_CACHE)


def test_vendored_versions_match_the_development_pins():
    vendored = {
        r.name: r.version
        for r in package.parse_requirements(ROOT / "functions/refresh_partner_data/requirements.txt")
    }
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "requirements/dev.txt").read_text().splitlines()
        if "==" in line
    )
    assert vendored == {name: pins[name] for name in vendored}


# The zips work from an empty folder ------------------------------------------------------------


def isolated_python(code: str, path: list[Path], python: str) -> str:
    """Runs ``code`` in a process whose import path is only ``path`` and the standard library."""
    folders = [str(p) for p in path]
    prelude = f"import sys; sys.path[:] = {folders} + [p for p in sys.path if 'site-packages' not in p]\n"
    result = subprocess.run(
        [python, "-I", "-S", "-c", prelude + code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_refresh_zip_parses_with_ijson_from_the_zip_and_zones_from_tzdata(
    built, tmp_path, lambda_runtime_dir
):
    code_dir = unpack(built[HOST_ARCH] / "dist" / "refresh_partner_data.zip", tmp_path / "code")
    python, is_313 = runtime_python()
    report = isolated_python(
        "import ijson, zoneinfo\n"
        "zoneinfo.reset_tzpath(to=[])  # no system zone database, as on a bare runtime\n"
        "print(ijson.__file__, ijson.backend, zoneinfo.ZoneInfo('America/Sao_Paulo').key)",
        [code_dir, lambda_runtime_dir],
        python,
    )
    ijson_file, backend, zone = report.split()
    assert ijson_file.startswith(str(code_dir))
    assert zone == "America/Sao_Paulo"
    # Only the 3.13 runtime can load the cp313 extension; any other falls back to pure Python.
    assert backend == ("yajl2_c" if is_313 else "python")


def test_the_purge_zip_answers_a_purge_from_an_empty_folder(built, tmp_path, local_aws, lambda_runtime_dir):
    code_dir = unpack(built["arm64"] / "dist" / "purge_bucket.zip", tmp_path / "code")
    bucket, parameter = f"zip-{uuid.uuid4().hex[:10]}", f"/zip-test/{uuid.uuid4().hex}"
    s3, ssm = local_aws.client("s3"), local_aws.client("ssm")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.csv", Body=b"x")
    ssm.put_parameter(Name=parameter, Value="zip-password", Type="SecureString")
    create_jobs_table(local_aws.client("dynamodb"))
    env = {
        **local_aws.environment(),
        "PASSWORD_PARAMETER": parameter,
        "ALLOWED_BUCKETS": bucket,
        "JOBS_TABLE": JOBS_TABLE,
    }
    body = json.dumps({"bucket_name": bucket, "password": "zip-password"}).encode()

    with LambdaProcess.of_package(code_dir, lambda_runtime_dir, env=env) as function:
        reply = function.invoke(proxy_event(body=body))

    assert reply["ok"], reply
    assert reply["result"]["statusCode"] == 200
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_the_refresh_zip_answers_a_refresh_from_an_empty_folder(
    built, tmp_path, local_aws, lambda_runtime_dir
):
    code_dir = unpack(built[HOST_ARCH] / "dist" / "refresh_partner_data.zip", tmp_path / "code")
    bucket = f"zip-{uuid.uuid4().hex[:10]}"
    s3 = local_aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    with PartnerApiSimulator() as simulator:
        env = {**local_aws.environment(), "PARTNER_API_URL": simulator.url, "DATA_BUCKET": bucket}
        with LambdaProcess.of_package(code_dir, lambda_runtime_dir, env=env) as function:
            reply = function.invoke({"date": "2026-11-01", "datasets": ["category"]})
    assert reply["ok"], reply
    assert reply["result"]["written"] == 1
    body = s3.get_object(Bucket=bucket, Key="category/2026-11-01.csv")["Body"].read().decode()
    assert body.startswith('"id","name","isActive"\r\n"1","Açucar","true"\r\n')


def test_a_missing_vendored_module_is_not_hidden(built, tmp_path, lambda_runtime_dir):
    code_dir = unpack(built[HOST_ARCH] / "dist" / "refresh_partner_data.zip", tmp_path / "code")
    shutil.rmtree(code_dir / "ijson")
    with LambdaProcess("handler.lambda_handler", [code_dir], runtime_dir=lambda_runtime_dir) as function:
        reply = function.invoke({})
    assert not reply["ok"]
    assert reply["error_type"] == "ModuleNotFoundError"
    assert "ijson" in reply["error_message"]


def tzdata_requirement() -> package.Requirement:
    (requirement,) = [
        r
        for r in package.parse_requirements(ROOT / "functions" / "refresh_partner_data" / "requirements.txt")
        if r.name == "tzdata"
    ]
    return requirement


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_cold_cache_downloads_the_pinned_wheel_once(tmp_path, monkeypatch):
    requirement = tzdata_requirement()
    wheel = package.fetch_wheel(requirement, "arm64", tmp_path)
    assert wheel.parent == tmp_path / "arm64"
    assert sha256(wheel) in requirement.hashes

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded again although the cache holds the wheel")

    monkeypatch.setattr(package.subprocess, "run", no_download)
    assert package.fetch_wheel(requirement, "arm64", tmp_path) == wheel


def test_a_cached_wheel_that_does_not_match_its_hashes_is_downloaded_again(tmp_path):
    requirement = tzdata_requirement()
    good = package.fetch_wheel(requirement, "arm64", tmp_path)
    good.write_bytes(b"tampered")
    again = package.fetch_wheel(requirement, "arm64", tmp_path)
    assert sha256(again) in requirement.hashes


def test_builds_sharing_a_cold_cache_each_get_a_whole_wheel(tmp_path):
    requirement = tzdata_requirement()
    with ThreadPoolExecutor(max_workers=3) as pool:
        wheels = list(pool.map(lambda _: package.fetch_wheel(requirement, "arm64", tmp_path), range(3)))
    assert all(sha256(wheel) in requirement.hashes for wheel in wheels)
    assert [path.name for path in (tmp_path / "arm64").iterdir()] == [wheels[0].name]


def test_a_pin_whose_hash_no_wheel_has_is_refused(tmp_path):
    wrong = package.Requirement("tzdata", tzdata_requirement().version, frozenset({"0" * 64}))
    with pytest.raises(package.PackagingError, match="could not download tzdata for arm64"):
        package.fetch_wheel(wrong, "arm64", tmp_path)
    assert list((tmp_path / "arm64").iterdir()) == []
