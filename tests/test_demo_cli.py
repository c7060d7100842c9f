"""`modelhealth demo --out DIR`: never empties a folder it did not write."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from modelhealth.cli import app
from modelhealth.demo.story import DEMO_MARKER

runner = CliRunner()


def test_demo_refuses_a_folder_of_someone_elses_files(tmp_path: Path) -> None:
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("months of work")

    done = runner.invoke(app, ["demo", "--nights", "1", "--out", str(folder)])

    assert done.exit_code == 2
    assert "not empty and was not written by modelhealth demo" in done.output
    assert (folder / "chapter1.tex").read_text() == "months of work"


def test_demo_empties_its_own_folder_and_a_forced_one(tmp_path: Path) -> None:
    folder = tmp_path / "scratch"
    folder.mkdir()
    (folder / "old.txt").write_text("scratch")

    forced = runner.invoke(app, ["demo", "--nights", "1", "--out", str(folder), "--force"])
    assert forced.exit_code == 0, forced.output
    assert not (folder / "old.txt").exists() and (folder / DEMO_MARKER).is_file()
    (folder / "nights" / "left-over.txt").write_text("from the first run")

    again = runner.invoke(app, ["demo", "--nights", "1", "--out", str(folder)])

    assert again.exit_code == 0, again.output
    assert not (folder / "nights" / "left-over.txt").exists()
    assert (folder / "report.html").is_file()
