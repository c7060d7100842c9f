"""The one listing of log files: local folders and fsspec URLs list the same files, in the
order ingest reads them, and the run id follows what is read."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from monitor.check import run_id_for
from monitor.errors import UnreadableLogError
from monitor.ingest import list_log_files


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A log folder as exporters leave it: partitions, markers, notes, hidden files."""
    logs = tmp_path / "logs"
    for day in ("2026-10-02", "2026-10-01"):
        part = logs / f"date={day}"
        part.mkdir(parents=True)
        (part / "part-1.parquet").write_bytes(b"x" * 30)
        (part / "part-0.parquet").write_bytes(b"x" * 20)
        (part / "_SUCCESS").touch()
        (part / ".part-0.parquet.crc").write_bytes(b"crc")
    (logs / "model_id=churn%20v2").mkdir()
    (logs / "model_id=churn%20v2" / "rows.jsonl.gz").write_bytes(b"y" * 7)
    (logs / "_staging").mkdir()
    (logs / "_staging" / "half-written.parquet").write_bytes(b"z")
    (logs / "README.md").write_text("exports of the assistant's predictions\n")
    (logs / "extra.csv").write_text("prediction_id\n")
    return logs


def test_a_folder_lists_its_log_files_top_down_sorted_and_nothing_else(folder: Path) -> None:
    files = list_log_files([folder])
    assert [f.relative for f in files] == [
        "extra.csv",
        "date=2026-10-01/part-0.parquet",
        "date=2026-10-01/part-1.parquet",
        "date=2026-10-02/part-0.parquet",
        "date=2026-10-02/part-1.parquet",
        "model_id=churn%20v2/rows.jsonl.gz",
    ]
    assert [f.name for f in files] == [str(folder / f.relative) for f in files if f.relative]
    assert [f.size for f in files] == [14, 20, 30, 20, 30, 7]
    assert {f.format for f in files} == {"csv", "parquet", "jsonl"}
    assert files[-1].partitions == (("model_id", "churn v2"),)
    assert files[1].partitions == (("date", "2026-10-01"),)
    assert not any(f.direct or f.remote for f in files)


def test_a_url_lists_the_same_files_as_the_path_with_sizes_and_times(folder: Path) -> None:
    by_path = list_log_files([folder])
    by_url = list_log_files([folder.as_uri()])
    assert [f.name for f in by_url] == [folder.as_uri() + "/" + f.relative for f in by_path]
    assert [(f.relative, f.size, f.partitions) for f in by_url] == [
        (f.relative, f.size, f.partitions) for f in by_path
    ]
    assert all(f.remote and f.modified for f in by_url)


def test_a_file_named_twice_is_read_once_where_it_first_appears(folder: Path) -> None:
    again = folder / "date=2026-10-02" / "part-0.parquet"
    files = list_log_files([again, folder])
    assert files[0].name == str(again) and files[0].direct
    assert [f.name for f in files].count(str(again)) == 1
    assert len(files) == 6


def test_a_file_named_directly_must_be_a_log_and_must_exist(folder: Path) -> None:
    with pytest.raises(UnreadableLogError, match="unknown log format"):
        list_log_files([folder / "README.md"])
    with pytest.raises(UnreadableLogError, match="no such file or directory"):
        list_log_files([folder / "missing"])
    with pytest.raises(UnreadableLogError, match="unknown log format"):
        list_log_files([(folder / "README.md").as_uri()])


def test_the_run_id_changes_with_a_log_file_but_not_with_what_is_not_read(folder: Path) -> None:
    night = date(2026, 10, 2)
    before = run_id_for("sha256:1", night, [folder], None)
    assert run_id_for("sha256:1", night, [folder], None) == before
    (folder / "NOTES.txt").write_text("not a log")
    (folder / "date=2026-10-01" / "_SUCCESS").write_text("done")
    assert run_id_for("sha256:1", night, [folder], None) == before
    log = folder / "date=2026-10-01" / "part-0.parquet"
    stat = log.stat()
    os.utime(log, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert run_id_for("sha256:1", night, [folder], None) != before
    assert run_id_for("sha256:2", night, [folder], None) != before
    assert run_id_for("sha256:1", night, [folder], None).startswith("2026-10-02-")
