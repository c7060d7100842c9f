"""Logs where they live: fsspec URLs in both engines, through the one listing function.

The local engine streams ``file://`` and in-process ``memory://`` files through fsspec;
the Dask engine (a real LocalCluster, ``cluster`` in conftest.py) reads ``file://`` (a
memory filesystem belongs to one process, so its workers could not see it). Each report
must equal the report of the same files named by local path, up to the names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from typer.testing import CliRunner

from modelhealth import run_check
from modelhealth.cli import app
from monitor.ingest import list_log_files

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
DEMO = ROOT / "data" / "demo" / "logs"
NIGHT = "2026-10-20"
runner = CliRunner()


def comparable(report: Any, *names: tuple[str, str]) -> dict[str, Any]:
    """A report as JSON with URL names replaced by paths and run-specific fields dropped."""
    text = report if isinstance(report, str) else report.model_dump_json()
    for url, path in names:
        text = text.replace(url, path)
    data: dict[str, Any] = json.loads(text)
    for key in ("run_id", "generated_at", "engine"):
        data.pop(key, None)
    return data


def test_a_file_url_folder_gives_the_report_of_the_local_path(tmp_path: Path) -> None:
    register = ROOT / "data" / "register.yaml"
    url = DEMO.resolve().as_uri()
    common = {"as_of": NIGHT, "drift": False}

    by_path = run_check(register, DEMO.resolve(), out=tmp_path / "path", **common)
    by_url = run_check(register, url, out=tmp_path / "url", **common)

    assert by_url.ingest.files[0] == f"{url}/date=2026-10-01/part-0.parquet"
    assert len(by_url.ingest.files) == 30
    assert by_url.ingest.rows_used == by_path.ingest.rows_used > 3000
    assert comparable(by_url, (url, str(DEMO.resolve()))) == comparable(by_path)


@pytest.fixture
def memory_logs() -> Iterator[str]:
    """The contract examples in an in-process memory filesystem, one per format."""
    fs = fsspec.filesystem("memory")
    root = "memory://onboard-logs"
    for name in ("logs.parquet", "logs.csv", "logs.jsonl"):
        fs.pipe(f"{root}/{name.split('.')[1]}/{name}", (EXAMPLES / name).read_bytes())
    fs.pipe(f"{root}/csv/_SUCCESS", b"")
    try:
        yield root
    finally:
        fs.rm(root, recursive=True)


@pytest.mark.parametrize("kind", ["parquet", "csv", "jsonl"])
def test_memory_urls_are_read_by_the_local_engine_through_the_one_listing(
    memory_logs: str, kind: str, tmp_path: Path
) -> None:
    folder = f"{memory_logs}/{kind}"
    listed = list_log_files([folder])
    assert [f.name for f in listed] == [f"{folder}/logs.{kind}"]  # _SUCCESS skipped
    assert listed[0].size == (EXAMPLES / f"logs.{kind}").stat().st_size

    done = runner.invoke(
        app,
        ["check", "--register", str(EXAMPLES / "register.yaml"), "--logs", folder,
         "--as-of", NIGHT, "--out", str(tmp_path / "url"), "--no-ladder", "--no-drift",
         "--now", "2026-10-21T06:00:00+00:00"],
    )  # fmt: skip
    local = runner.invoke(
        app,
        ["check", "--register", str(EXAMPLES / "register.yaml"), "--logs",
         str(EXAMPLES / f"logs.{kind}"), "--as-of", NIGHT, "--out", str(tmp_path / "path"),
         "--no-ladder", "--no-drift", "--now", "2026-10-21T06:00:00+00:00"],
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    assert local.exit_code == 0, local.output
    by_url = (tmp_path / "url" / "report.json").read_text()
    by_path = (tmp_path / "path" / "report.json").read_text()
    assert json.loads(by_url)["ingest"]["rows_used"] == 10
    assert comparable(by_url, (f"{folder}/logs.{kind}", str(EXAMPLES / f"logs.{kind}"))) == (
        comparable(by_path)
    )


def test_a_missing_url_is_bad_input_not_a_crash(tmp_path: Path) -> None:
    done = runner.invoke(
        app,
        ["check", "--register", str(EXAMPLES / "register.yaml"), "--logs",
         "memory://no-such-bucket/logs/", "--as-of", NIGHT, "--out", str(tmp_path),
         "--no-ladder", "--no-drift"],
    )  # fmt: skip

    assert done.exit_code == 2
    assert "memory://no-such-bucket/logs/" in done.output
    assert "no such file or directory" in done.output


def test_the_dask_engine_reads_file_urls_through_run_check(cluster: Any, tmp_path: Path) -> None:
    register = ROOT / "data" / "register.yaml"
    url = DEMO.resolve().as_uri()
    common = {"as_of": NIGHT, "drift": False}

    local = run_check(register, DEMO.resolve(), out=tmp_path / "local", **common)
    dask = run_check(
        register, url, out=tmp_path / "dask", engine="dask", scheduler=cluster.scheduler_address,
        **common,
    )  # fmt: skip

    assert dask.engine == "dask"
    assert dask.ingest.files[-1] == f"{url}/date=2026-10-30/part-0.parquet"
    assert dask.ingest.rows_used == local.ingest.rows_used
    for mine, theirs in zip(dask.models, local.models, strict=True):
        assert (mine.model_id, mine.status, mine.n_rows) == (
            theirs.model_id, theirs.status, theirs.n_rows
        )  # fmt: skip
        assert mine.metrics is not None and theirs.metrics is not None
        assert mine.metrics.error_rate.value == pytest.approx(theirs.metrics.error_rate.value)
        assert mine.metrics.latency_ms.p95 == pytest.approx(theirs.metrics.latency_ms.p95)
