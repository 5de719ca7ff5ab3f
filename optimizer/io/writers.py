"""Write results: one file atomically (``atomic_write_bytes``), or one complete run of several
files into an output folder (``write_run``) that a reader checks with ``check_run``.

A reader never sees half a file. An output folder holds one run: ``write_run`` stages every
file as a hidden temporary file, marks the folder as being rewritten in ``run.json``, renames
the files into place, removes the files of the previous run that the new run does not have,
and writes ``run.json`` (a run id and the SHA-256 of every file of the run) LAST. A kill or a
failure at any moment leaves the previous complete run, the new complete run, or a folder
whose ``run.json`` says it is incomplete (``check_run`` reports it); the next run removes the
temporary files of a killed one. Every operating-system error becomes a ``WriteError`` that
names the path and the cause.
CSV floats are written with repr (shortest round-trip), so the same solution gives
byte-identical files.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import math
import os
import stat
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.core.errors import UsageError, WriteError, os_error_text
from optimizer.core.result import Result
from optimizer.io.csv_out import StreamedFile, csv_bytes, csv_chunks

RUN_MANIFEST = "run.json"         # the run's id and the SHA-256 of each of its files; written last
RUN_FORMAT = "equalize-run/1"
TEMP_PREFIX = ".equalize-tmp-"    # every temporary file we create starts with this
# The names a command writes: in a folder without run.json (a folder of an older version, or
# a new one), files with these names are taken as ours and replaced or removed.
SOLVE_OUTPUTS = ("allocation.csv", "summary.json", "merge_effect.csv", "services.csv")
COMPARE_OUTPUTS = ("compare.csv", "allocation-*.csv", "lorenz.png", "levels.png")
SCENARIOS_OUTPUTS = ("scenarios.csv",)
SWEEP_OUTPUTS = ("frontier.csv", "allocations.parquet", "frontier.png")
GENERATE_OUTPUTS = ("instance.toml", "regions.csv", "services.csv", "groups.csv")
UTF8_BOM = b"\xef\xbb\xbf"        # --csv-bom: Excel reads a CSV as UTF-8 (Korean intact) only with it


def current_umask() -> int:
    mask = os.umask(0o022)   # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


@contextlib.contextmanager
def naming(path: Path) -> Iterator[None]:
    """Turn an operating-system error into a one-line ``WriteError`` naming ``path``."""
    try:
        yield
    except OSError as exc:
        other = exc.filename
        hidden = other is not None and Path(str(other)).name.startswith(TEMP_PREFIX)
        where = "" if other is None or hidden or Path(str(other)) == path else f" ({other})"
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}{where}") from exc


def _unlink_quietly(path: Path | str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _write_temp(folder: Path, name: str, data, fsync: bool = True, digest: bool = False):
    """A private temporary file in ``folder`` holding ``data`` (bytes, or a ``StreamedFile``
    written chunk by chunk), with the mode a plain ``open`` would give (0666 less the umask).
    With ``digest``: (path, {"sha256", "bytes"} of what was written), else the path."""
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{name}.", suffix=".tmp", dir=folder)
    h, size = hashlib.sha256(), 0
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            for chunk in (data if isinstance(data, StreamedFile) else (data,)):
                fh.write(chunk)
                size += memoryview(chunk).nbytes
                if digest:
                    h.update(chunk)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return (Path(tmp), {"sha256": h.hexdigest(), "bytes": size}) if digest else Path(tmp)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):   # not every file system syncs a directory
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, fsync: bool = True) -> None:
    """One file, atomically (temporary file in the same folder, then rename); a ``WriteError``
    naming ``path`` and the cause when it cannot be written. ``fsync=False``: still atomic for
    readers and after a process kill (rename), but not forced to disk before the rename (batch
    per-run files, validated on resume)."""
    path = Path(path)
    with naming(path):
        make_folder(path.parent)
        tmp = _write_temp(path.parent, path.name, data, fsync)
        try:
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise


def atomic_write_text(path: Path, text: str, fsync: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), fsync)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):  # numpy scalars
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def summary_json(summary: dict) -> str:
    return json.dumps(_jsonable(summary), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def allocation_csv(frame: pd.DataFrame) -> str:
    """CSV text of ``frame`` (``csv_bytes`` decoded)."""
    return csv_bytes(frame).decode("utf-8")


FileData = bytes | bytearray | StreamedFile   # what a run's file holds (write_run)


def result_files(result: Result) -> dict[str, FileData]:
    """The files of a solve: allocation.csv, one CSV per extra table (services.csv) and
    summary.json; only summary.json when the solve was infeasible."""
    files = {}
    if result.solved:
        files["allocation.csv"] = StreamedFile(lambda: csv_chunks(result.allocation))
        for name, table in getattr(result, "tables", {}).items():
            files[f"{name}.csv"] = StreamedFile(lambda t=table: csv_chunks(t))
    files["summary.json"] = summary_json(result.summary).encode()
    return files


def with_bom(files: Mapping[str, FileData], bom: bool = True) -> dict[str, FileData]:
    """``files`` with a UTF-8 byte-order mark before every CSV (``--csv-bom``), else unchanged."""
    def marked(data: FileData) -> FileData:
        return replace(data, prefix=UTF8_BOM + data.prefix) if isinstance(data, StreamedFile) else UTF8_BOM + data
    return {name: marked(data) if bom and name.endswith(".csv") else data for name, data in files.items()}


def is_xlsx(path: Path | None) -> bool:
    """An ``--output`` naming a workbook (``NAME.xlsx``) rather than a folder."""
    return path is not None and Path(path).suffix.lower() == ".xlsx"


def write_result(result: Result, folder: Path) -> list[Path]:
    """``result_files`` as one run in ``folder`` (``write_run``); the paths written."""
    files = result_files(result)
    write_run(folder, files, SOLVE_OUTPUTS)
    return [Path(folder) / name for name in files]


def write_run(folder: Path, files: Mapping[str, FileData], owned: Iterable[str] = ()) -> Path:
    """Replace the run in ``folder`` by ``files`` (file name -> bytes or a ``StreamedFile``) as ONE
    run; return the path
    of its manifest (``run.json``). The folder (and missing parents) is created.

    Order: remove stale temporary files (``.equalize-tmp-*``) of killed runs; stage every file as
    a temporary file (fsync); replace ``run.json`` by a *pending* manifest that lists the
    previous run's files and the new ones; rename the staged files into place; remove the files
    of the previous run that the new run does not have; write the complete ``run.json`` (run id,
    time, SHA-256 and size of every file) LAST. A failure before the pending manifest changes
    nothing visible; a kill after it leaves a pending ``run.json`` (``check_run`` reports it) that
    the next run uses to find every file it must replace or remove.

    A file is the previous run's when ``run.json`` lists it, or, in a folder without a readable
    ``run.json``, when its name matches one of the ``owned`` patterns (the names the command
    writes). No other file is touched. A folder holding ``instance.toml`` is refused (an
    instance folder is not an output folder) unless the run writes ``instance.toml`` itself.
    Raises ``WriteError`` (path and cause) for any operating-system error, ``UsageError`` for an
    instance folder. One writer per folder at a time."""
    folder = Path(folder)
    for name in files:
        if not name or name != Path(name).name or name.startswith(".") or name == RUN_MANIFEST:
            raise ValueError(f"not a plain output file name: {name!r}")
    with naming(folder):
        make_folder(folder)
        if "instance.toml" not in files and os.path.lexists(folder / "instance.toml"):
            raise UsageError(f"{folder}: holds instance.toml (an instance folder); write the output to "
                             "another folder")
        remove_stale_temps(folder)
        previous = _previous_names(folder, owned)
    for name in [*files, RUN_MANIFEST]:
        with naming(folder / name):
            _refuse_directory(folder / name)
    staged: dict[str, Path] = {}
    listing: dict[str, dict] = {}
    try:
        for name, data in files.items():
            with naming(folder / name):
                staged[name], listing[name] = _write_temp(folder, name, data, digest=True)
        _commit(folder, staged, dict(sorted(listing.items())), previous)
    finally:
        for tmp in staged.values():
            _unlink_quietly(tmp)        # already renamed when the commit went through
    return folder / RUN_MANIFEST


def _commit(folder: Path, staged: dict[str, Path], listing: dict[str, dict], previous: set[str]) -> None:
    """Rename the staged files into place between a pending and the complete manifest
    (``listing``: file name -> sha256 and bytes)."""
    run_id = uuid.uuid4().hex
    _write_manifest(folder, {"format": RUN_FORMAT, "run_id": run_id, "complete": False,
                             "files": sorted(previous | set(listing))})
    for name, tmp in staged.items():
        with naming(folder / name):
            os.replace(tmp, folder / name)
    for name in sorted(previous - set(listing)):
        with naming(folder / name):
            if os.path.lexists(folder / name) and not (folder / name).is_dir():
                os.unlink(folder / name)
    _write_manifest(folder, {"format": RUN_FORMAT, "run_id": run_id, "complete": True,
                             "written": datetime.now(UTC).isoformat(timespec="seconds"), "files": listing})


def _write_manifest(folder: Path, manifest: dict) -> None:
    path = folder / RUN_MANIFEST
    with naming(path):
        tmp = _write_temp(folder, RUN_MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        try:
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        _fsync_dir(folder)


def make_folder(folder: Path) -> None:
    """``mkdir -p``; an ``OSError`` whose cause says what is in the way."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(20, "exists and is not a folder (a file, or a broken or looping symlink)",
                                 str(folder)) from None


def _refuse_directory(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(21, "Is a directory", str(path))


def remove_stale_temps(folder: Path) -> list[str]:
    """Remove the temporary files (``.equalize-tmp-*.tmp``) a killed writer left in ``folder``;
    return their names."""
    gone = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(".tmp") \
                    and not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
                gone.append(entry.name)
    return gone


def read_manifest(folder: Path) -> dict | None:
    """The folder's ``run.json`` as a dict, or None when it is missing or not ours."""
    try:
        manifest = json.loads((Path(folder) / RUN_MANIFEST).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != RUN_FORMAT:
        return None
    return manifest


def _previous_names(folder: Path, owned: Iterable[str]) -> set[str]:
    manifest = read_manifest(folder)
    if manifest is not None and isinstance(manifest.get("files"), (dict, list)):
        return {n for n in manifest["files"] if isinstance(n, str) and n == Path(n).name
                and not n.startswith(".") and n != RUN_MANIFEST}
    patterns = list(owned)
    with os.scandir(folder) as entries:
        return {e.name for e in entries if not e.is_dir(follow_symlinks=False)
                and any(fnmatch.fnmatchcase(e.name, p) for p in patterns)}


def check_run(folder: Path) -> list[str]:
    """Problems that make ``folder`` something other than one complete run; [] when it holds one.

    A reader (tests, tools) trusts the files ``run.json`` lists only when this is empty: the
    manifest is there, says the run is complete, and every file it lists has its SHA-256. Files
    the manifest does not list are not part of the run."""
    path = Path(folder) / RUN_MANIFEST
    if not os.path.lexists(path):
        return [f"{path}: missing; the folder holds no complete run"]
    manifest = read_manifest(folder)
    if manifest is None:
        return [f"{path}: unreadable or not an equalize run manifest"]
    if manifest.get("complete") is not True or not isinstance(manifest.get("files"), dict):
        return [f"{path}: run {manifest.get('run_id')} was interrupted; the folder is incomplete"]
    problems = []
    for name, meta in manifest["files"].items():
        try:
            digest = _file_sha256(Path(folder) / name)
        except OSError as exc:
            problems.append(f"{os_error_text(exc, Path(folder) / name)} (listed in {RUN_MANIFEST})")
            continue
        if not isinstance(meta, dict) or digest != meta.get("sha256"):
            problems.append(f"{Path(folder) / name}: does not match {RUN_MANIFEST} (changed or from another run)")
    return problems


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
