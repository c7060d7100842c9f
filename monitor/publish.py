"""One run's outputs, written apart and published as one unit into ``--out``.

``--out`` holds what a reader opens — ``report.json``, ``report.html``,
``quarantine.parquet``, ``drift-<model>.html`` — but each of those names is a symbolic
link into the run that wrote it::

    out/report.json          -> .modelhealth/current/report.json
    out/.modelhealth/current -> runs/2026-10-16-1a2b3c-x8k2
    out/.modelhealth/runs/2026-10-16-1a2b3c-x8k2/{report.json, report.html, …, MANIFEST.json}

A :class:`RunFolder` is a fresh folder (``mkdtemp``: new, private, random) in which the
check writes everything; :meth:`RunFolder.publish` then points ``current`` at it with one
atomic rename. So:

* a kill at any moment leaves ``out`` showing last night's files or tonight's, never
  tonight's quarantine beside last night's report;
* two checks into one ``--out`` never share a temporary file: each has its own folder,
  and the last to publish is what ``out`` shows;
* nothing is written *through* a link someone planted in ``out``: the names above are
  replaced (``rename`` replaces a link, it does not follow it), the lock file is opened
  with ``O_NOFOLLOW``, and a planted ``.modelhealth`` link is refused;
* only the tool's own files are ever removed: superseded run folders, file by file by
  the names their ``MANIFEST.json`` lists (or, for a run that was killed, the names a
  run writes), then the folder if that left it empty; and links in ``out`` that point
  into ``current`` and no longer have a file there. The newest superseded run is kept,
  so a reader who opened last night's report can still open its quarantine.

On a file system without symbolic links the files are renamed into ``out`` one by one,
``report.json`` last (the previous behaviour).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from monitor.atomic import write_atomic
from monitor.errors import InputError

__all__ = ["HOME", "OutputFolderError", "RunFolder"]

#: The tool's folder inside ``--out``: runs, the ``current`` link and the lock.
HOME = ".modelhealth"
MANIFEST = "MANIFEST.json"
_RUN_LOCK = ".lock"
#: A run folder without lock or manifest this old was left by a kill before it began.
_ABANDONED_SECONDS = 600
#: The names a run writes: what may be removed from a run that was killed mid-write.
_RUN_NAMES = re.compile(
    r"^(report\.json|report\.html|quarantine\.parquet(\.tmp)?|drift-[^/]+\.html|"
    r"\.[^/]+\.tmp|MANIFEST\.json|\.lock)$"
)
#: The names published into ``out``.
_PUBLISHED = re.compile(r"^(report\.json|report\.html|quarantine\.parquet|drift-[^/]+\.html)$")


class OutputFolderError(InputError):
    """``--out`` cannot be used safely (exit 2): a planted link, a folder in the way."""


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _own_dir(path: Path) -> Path:
    """``path`` as a real folder (created if missing); a link there is refused."""
    with contextlib.suppress(FileExistsError):
        path.mkdir()
    if path.is_symlink() or not path.is_dir():
        raise OutputFolderError(
            f"{path} is {'a symbolic link' if path.is_symlink() else 'not a folder'}: "
            "modelhealth keeps its runs there and never writes through a link inside --out; "
            "remove it"
        )
    return path


@contextlib.contextmanager
def _locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """An exclusive ``flock`` on ``path`` (created, never followed if a link)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputFolderError(
                f"{path} is a symbolic link: modelhealth never follows links inside --out; "
                "remove it"
            ) from None
        raise
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


class RunFolder:
    """A fresh folder for one run's outputs, published into ``out_dir`` as one unit.

    Parameters
    ----------
    out_dir
        The ``--out`` folder (created if needed).
    label
        Names the run folder (e.g. the run id) for people browsing ``.modelhealth/runs``.
    """

    def __init__(self, out_dir: Path, label: str = "run") -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        self.home = _own_dir(out_dir / HOME)
        self.runs = _own_dir(self.home / "runs")
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label)[:60] or "run"
        self.path = Path(tempfile.mkdtemp(prefix=f"{safe}-", dir=self.runs))
        os.chmod(self.path, 0o755)  # mkdtemp makes 0700; reports are meant to be read
        # Held while the run writes: a later run's sweep leaves a folder alone while its
        # writer lives, and takes it once the writer is gone (killed).
        self._lock_fd: int | None = os.open(
            self.path / _RUN_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600
        )
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self.published = False

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.published:
            self.discard()

    def files(self) -> list[Path]:
        """The outputs written so far (not the lock, manifest or temporary files)."""
        return sorted(p for p in self.path.iterdir() if _PUBLISHED.match(p.name))

    def publish(self, run_id: str) -> list[Path]:
        """Make this run's files what ``out`` shows, atomically; return them.

        ``report.json`` must have been written last (it is the file readers trust).
        """
        files = self.files()
        names = [p.name for p in files]
        manifest = {
            "run_id": run_id,
            "files": names,
            "published_at": datetime.now(timezone.utc).isoformat(),
        }
        write_atomic(self.path / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        with _locked(self.home / "lock"):
            if not self._switch(names):
                self._rename_each(files)
            self._sweep()
        self._release()
        self.published = True
        return files

    def discard(self) -> None:
        """Remove what this run wrote (its own folder); ``out`` is untouched."""
        self._release()
        _remove_run(self.path)

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # ------------------------------------------------------------- the switch

    def _switch(self, names: Sequence[str]) -> bool:
        """Point ``current`` at this run, then each name in ``out`` at ``current``.
        ``False`` when the file system has no symbolic links."""
        target = f"runs/{self.path.name}"
        try:
            _replace_with_link(self.home / "current", target, self.home)
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.ENOSYS, errno.EOPNOTSUPP):
                return False
            raise
        for name in names:
            link = self.out_dir / name
            wanted = f"{HOME}/current/{name}"
            if link.is_symlink() and os.readlink(link) == wanted:
                continue
            if link.is_dir() and not link.is_symlink():
                raise OutputFolderError(f"{link} is a folder; modelhealth writes a file there")
            _replace_with_link(link, wanted, self.home)
        # Our links to outputs tonight's run did not write (a model's drift page, the
        # HTML of a check without the ladder) would show nothing: remove them.
        for entry in self.out_dir.iterdir():
            if (
                _PUBLISHED.match(entry.name)
                and entry.name not in names
                and entry.is_symlink()
                and os.readlink(entry) == f"{HOME}/current/{entry.name}"
            ):
                entry.unlink(missing_ok=True)
        _fsync_dir(self.out_dir)
        return True

    def _rename_each(self, files: Sequence[Path]) -> None:
        ordered = sorted(files, key=lambda p: p.name == "report.json")  # report.json last
        for path in ordered:
            os.replace(path, self.out_dir / path.name)
        _fsync_dir(self.out_dir)

    # ------------------------------------------------------------- the sweep

    def _sweep(self) -> None:
        """Remove superseded runs: all but ``current`` and the newest other finished run,
        and runs whose writer is gone."""
        current = _current(self.home)
        finished: list[tuple[float, Path]] = []
        for run in self.runs.iterdir():
            if run.is_symlink() or not run.is_dir() or run == self.path or run.name == current:
                continue
            manifest = run / MANIFEST
            if manifest.is_file():
                finished.append((manifest.stat().st_mtime, run))
                continue
            lock = run / _RUN_LOCK
            if not lock.exists():
                if time.time() - run.stat().st_mtime > _ABANDONED_SECONDS:
                    _remove_run(run)
                continue
            with _locked(lock, wait=False) as free:
                if free:  # its writer is gone: killed before it published
                    _remove_run(run)
        finished.sort(reverse=True)
        for _, run in finished[1:]:
            _remove_run(run)


def _current(home: Path) -> str | None:
    try:
        return Path(os.readlink(home / "current")).name
    except OSError:
        return None


def _replace_with_link(link: Path, target: str, scratch: Path) -> None:
    """Atomically make ``link`` a symbolic link to ``target`` (replacing whatever is
    there, never following it)."""
    temporary = scratch / f".link-{secrets.token_hex(8)}"
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _remove_run(run: Path) -> None:
    """Remove a run folder's files by the names a run writes, then the folder if empty:
    anything else someone put there stays."""
    try:
        manifest = json.loads((run / MANIFEST).read_text())
        listed = {str(name) for name in manifest.get("files", [])}
    except (OSError, ValueError, AttributeError):
        listed = set()
    with contextlib.suppress(OSError):
        for entry in run.iterdir():
            if entry.is_symlink() or not entry.is_file():
                continue
            if entry.name in listed or _RUN_NAMES.match(entry.name):
                entry.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        run.rmdir()
