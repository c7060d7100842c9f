"""``--out`` as a hostile neighbour or a busy scheduler would leave it (issue 17).

Every command runs as ``python -m modelhealth check`` in its own process. The output
folder must:

* never be written *through* a link someone planted in it (``report.json`` pointing at a
  file elsewhere, ``quarantine.parquet.tmp`` at a victim), and never attach a planted
  ``drift-*.html`` (a link to a secret) to the MLflow run;
* refuse a planted ``.modelhealth`` link (exit 2) rather than keep its runs elsewhere;
* never delete a file the tool did not write (``notes.txt``, ``.backup.tmp``, a file
  dropped into an old run folder), however many runs come and go;
* show one run's files as one unit: after a SIGKILL at any moment, ``report.json``,
  ``quarantine.parquet`` and the drift pages it names are all last run's or all this
  run's (the two runs here quarantine different numbers of rows, so a mix shows);
* let several checks write into one folder at the same moment: every one exits 0, and
  the folder shows one of them whole.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from reliability_corpus import (
    REGISTER_YAML,
    CliProcesses,
    check_args,
    night_rows,
    shared_cli,
    write_parquet,
)

#: Other seeds give other kill points: MODELHEALTH_RELIABILITY_SEED=7 pytest …
SEED = int(os.environ.get("MODELHEALTH_RELIABILITY_SEED", "17"))
KILLS = 8


@pytest.fixture(scope="module")
def cli() -> CliProcesses:
    return shared_cli()


def _logs(path: Path, bad: int) -> Path:
    """The corpus night with ``bad`` rows whose confidence is out of range."""
    rows = night_rows()
    for row in rows[:bad]:
        row["confidence"] = 1.5
    return write_parquet(path, rows)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    register = folder / "register.yaml"
    register.write_text(REGISTER_YAML)
    return {
        "register": register,
        "three": _logs(folder / "three.parquet", 3),
        "seven": _logs(folder / "seven.parquet", 7),
    }


def _check(
    inputs: dict[str, Path], logs: str, out: Path, *extra: str, drift: bool = False
) -> list[str]:
    args = check_args([inputs[logs]], out, inputs["register"], *extra)
    if drift:
        args.remove("--no-drift")
    return args


def whole(out: Path) -> dict[str, Any]:
    """The run ``out`` shows, after checking its files belong together."""
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    quarantine = pq.read_table(out / "quarantine.parquet")
    assert quarantine.num_rows == report["ingest"]["rows_quarantined"], (
        "the quarantine is not the report's",
        quarantine.num_rows,
        report["ingest"],
    )
    for model in report["models"]:
        page = (model.get("drift") or {}).get("html")
        if page:
            text = (out / page).read_text()
            assert text.rstrip().endswith("</html>")
    return report


def test_links_planted_in_out_are_replaced_never_written_through(
    tmp_path: Path, cli: CliProcesses, inputs: dict[str, Path]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victims = {}
    for name in ("report.json", "report.html", "quarantine.parquet", "quarantine.parquet.tmp"):
        victim = tmp_path / f"victim-{name}"
        victim.write_text(f"precious {name}\n")
        (out / name).symlink_to(victim)
        victims[name] = victim
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (out / "drift-secret.html").symlink_to(secret)
    args = _check(inputs, "three", out)
    args.remove("--no-ladder")  # the nightly job: ladder, HTML and an MLflow run
    mlflow = tmp_path / "mlflow.db"
    args += [
        "--state",
        f"sqlite:///{tmp_path / 'state.db'}",
        "--tracking-uri",
        f"sqlite:///{mlflow}",
    ]
    result = cli.run(args)
    assert result.code == 0, result.stderr
    for name, victim in victims.items():
        assert victim.read_text() == f"precious {name}\n", name
    assert secret.read_text() == "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    assert whole(out)["ingest"]["rows_quarantined"] == 3
    for name in ("report.json", "report.html", "quarantine.parquet"):
        assert os.readlink(out / name) == f".modelhealth/current/{name}"

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{mlflow}")
    [experiment] = [e for e in client.search_experiments() if e.name == "reliability"]
    [run] = client.search_runs([experiment.experiment_id])
    attached = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert attached == {"report.json", "report.html", "quarantine.parquet"}, attached


def test_a_planted_modelhealth_link_is_refused(
    tmp_path: Path, cli: CliProcesses, inputs: dict[str, Path]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / ".modelhealth").symlink_to(elsewhere)
    result = cli.run(_check(inputs, "three", out))
    assert result.code == 2, result.stderr
    assert result.stderr.startswith("error: ")
    assert ".modelhealth is a symbolic link" in result.stderr
    assert list(elsewhere.iterdir()) == []
    assert not (out / "report.json").exists()


def test_files_the_tool_did_not_write_are_never_deleted(
    tmp_path: Path, cli: CliProcesses, inputs: dict[str, Path]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    mine = {
        out / "notes.txt": "kept by a person\n",
        out / ".backup.tmp": "an editor's\n",
        out / ".report.json.keep.tmp": "looks like ours, is not\n",
    }
    for path, text in mine.items():
        path.write_text(text)
    first = cli.run(_check(inputs, "three", out))
    assert first.code == 0, first.stderr
    for path, text in mine.items():
        assert path.exists() and path.read_text() == text, path
    [run] = list((out / ".modelhealth" / "runs").iterdir())
    dropped = run / "keep.txt"  # someone's file inside the tool's own run folder
    dropped.write_text("not the tool's\n")
    for logs in ("seven", "three", "seven"):
        result = cli.run(_check(inputs, logs, out))
        assert result.code == 0, result.stderr
    for path, text in mine.items():
        assert path.read_text() == text, path
    assert dropped.read_text() == "not the tool's\n"
    assert whole(out)["ingest"]["rows_quarantined"] == 7
    # Superseded runs are swept: the current one, the previous one, and the folder that
    # holds someone else's file (emptied of the tool's files, not removed).
    runs = sorted((out / ".modelhealth" / "runs").iterdir())
    assert len(runs) == 3 and run in runs
    assert sorted(p.name for p in run.iterdir()) == ["keep.txt"]


def test_several_checks_into_one_out_all_succeed_and_one_of_them_shows_whole(
    tmp_path: Path, cli: CliProcesses, inputs: dict[str, Path]
) -> None:
    out = tmp_path / "out"
    commands = [_check(inputs, logs, out) for logs in ("three", "seven", "three", "seven")]
    results = cli.run_together(commands)
    for result in results:
        assert result.code == 0, result.stderr
        assert "Traceback" not in result.stderr
    assert whole(out)["ingest"]["rows_quarantined"] in (3, 7)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    print(f"\nconcurrent checks into one --out: {len(results)} exited 0")


@pytest.mark.slow
def test_kills_never_leave_tonights_quarantine_beside_last_nights_report(
    tmp_path: Path, cli: CliProcesses, inputs: dict[str, Path]
) -> None:
    out = tmp_path / "out"
    first = cli.run(_check(inputs, "three", out, drift=True))
    assert first.code == 0, first.stderr
    previous = whole(out)
    started = time.monotonic()
    clean = cli.run(_check(inputs, "seven", tmp_path / "clean", drift=True))
    assert clean.code == 0, clean.stderr
    duration = time.monotonic() - started
    tonight = whole(tmp_path / "clean")
    rng = random.Random(SEED)
    killed = 0
    for i in range(KILLS):
        delay = (0.05 + 0.9 * (i + rng.random()) / KILLS) * duration
        [running] = cli.start([_check(inputs, "seven", out, drift=True)])
        time.sleep(delay)
        os.kill(running.pid, signal.SIGKILL)
        [result] = cli.wait([running])
        killed += result.code == -signal.SIGKILL
        shown = whole(out)
        assert shown["run_id"] in (previous["run_id"], tonight["run_id"])
    assert killed >= KILLS // 2, f"only {killed} kills landed before the runs finished"
    final = cli.run(_check(inputs, "seven", out, drift=True))
    assert final.code == 0, final.stderr
    assert whole(out)["run_id"] == tonight["run_id"]
    # Killed runs' folders are swept by the run after them: the current and one previous.
    assert len(list((out / ".modelhealth" / "runs").iterdir())) == 2
    print(f"\n--out under SIGKILL: {killed} kills, every one left one run's files whole")
