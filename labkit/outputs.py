"""Where the kit writes, and the rule it keeps there: it never deletes or replaces what it did not write.

Files (predictions, cluster and link tables) are written to a temporary file in the target's folder,
flushed to disk, and renamed into place; the folder is flushed too, so that the new name survives a
crash. An existing file is replaced only when it is empty or when its first line shows it is an
output of the same kind (a prediction file starts with ``{"id": ..., "labels": ...}``, a table with
its own header); anything else is refused.

Folders (saved models, DiVa states, the synthetic corpus) are written in a temporary folder beside
the target, holding a marker ``labkit-folder.json`` that names the folder's kind and every file the
kit wrote, and then renamed into place. An existing folder is replaced only when it is empty, or
when it is a labkit folder of the same kind holding nothing but the files its marker lists (folders
saved before the marker existed are recognised by their layout: see ``LEGACY_LAYOUTS``). Every
refusal names the path, what is in the way and the option, before any work is done.

Every output is also checked against the command's inputs: an output that is an input (the same
file, by inode as well as by name) or a folder holding one is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import OutputError

MARKER = "labkit-folder.json"

# The first line of an existing file that the kit may replace, by kind of file.
FILE_KINDS: dict[str, Callable[[str], bool]] = {}
# Binary outputs, recognised by reading the file itself.
PATH_KINDS: dict[str, Callable[[Path], bool]] = {}

# Folders written before the marker: the files each kind may hold (a trailing "/" admits a folder
# of any content, "*" any file name of that ending) and the file that must be there.
LEGACY_LAYOUTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "model": ("config.json", ("config.json", "model.safetensors", "model.onnx", "tokenizer/")),
    "diva-state": ("state.json", ("state.json", "labels.safetensors", "model.safetensors", "best.safetensors")),
    "synthetic-corpus": ("train.jsonl", (
        "train.jsonl", "test_comments.jsonl", "test1.jsonl", "test2.jsonl", "gold_vocab.txt", "label_groups.tsv",
        "playlists/train.txt", "playlists/tags.txt", "playlists/tag_hash.txt", "playlists/song_hash.txt")),
    "synthetic-clips": ("tags.tsv", ("tags.tsv", "*.wav")),
}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------- recognising outputs
def register_file_kind(kind: str, recognise: Callable[[str], bool]) -> None:
    """Let outputs of ``kind`` replace a file whose first line ``recognise`` accepts."""
    FILE_KINDS[kind] = recognise


def register_path_kind(kind: str, recognise: Callable[[Path], bool]) -> None:
    """Let outputs of ``kind`` (binary files, such as Parquet) replace a file that ``recognise(path)`` accepts."""
    PATH_KINDS[kind] = recognise


def table_kind(*columns: str) -> Callable[[str], bool]:
    """A recogniser for a tab-separated table with exactly this header."""
    header = "\t".join(columns)
    return lambda line: line.rstrip("\r") == header


def jsonl_kind(required: set[str], allowed: set[str]) -> Callable[[str], bool]:
    """A recogniser for JSONL whose first object has the ``required`` keys and no others than ``allowed``."""

    def recognise(line: str) -> bool:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            return False
        return isinstance(obj, dict) and required <= set(obj) <= allowed

    return recognise


register_file_kind("predictions", jsonl_kind({"id", "labels"}, {"id", "labels", "scores"}))
register_file_kind("jsonl-corpus", jsonl_kind({"id", "comments"}, {"id", "comments", "labels"}))
register_file_kind("clusters", table_kind("tag", "cluster", "count", "silhouette"))
register_file_kind("links", table_kind("song", "tag", "score"))
register_file_kind("cluster-table", table_kind("tag", "cluster", "count"))
register_file_kind("audio-tags", table_kind("file", "rank", "tag", "score"))


def _first_line(path: Path, limit: int = 1 << 16) -> str | None:
    """The first line of ``path`` (None when it is not readable UTF-8 text)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(limit)
    except OSError:
        return None
    line = head.split(b"\n", 1)[0]
    try:
        return line.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None


def _files_below(folder: Path) -> list[str]:
    """Every file and link below ``folder``, as POSIX paths relative to it (folders themselves left out)."""
    found = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        for name in files + [d for d in dirs if (Path(root) / d).is_symlink()]:
            found.append((rel / name).as_posix())
    return sorted(found)


def _admitted(name: str, allowed: Iterable[str]) -> bool:
    for pattern in allowed:
        if pattern.endswith("/") and name.startswith(pattern):
            return True
        if pattern.startswith("*") and "/" not in name and name.endswith(pattern[1:]):
            return True
        if name == pattern:
            return True
    return False


def folder_kind(folder: str | Path) -> tuple[str | None, list[str]]:
    """What kind of labkit folder ``folder`` is, and the files in it that the kit did not write.

    Returns ``(kind, foreign)``: ``kind`` from its marker (or its legacy layout; None when it is no
    labkit folder), ``foreign`` the files that neither the marker nor the layout accounts for."""
    folder = Path(folder)
    files = _files_below(folder)
    marker = folder / MARKER
    if marker.is_file():
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            kind, listed = info["kind"], set(info["files"])
        except (ValueError, KeyError, TypeError, RecursionError, OSError):
            return None, files
        return str(kind), [f for f in files if f != MARKER and f not in listed]
    for kind, (required, allowed) in LEGACY_LAYOUTS.items():
        if required in files and _legacy_content_ok(kind, folder / required):
            foreign = [f for f in files if not _admitted(f, allowed)]
            if not foreign:
                return kind, []
    return None, files


def _legacy_content_ok(kind: str, path: Path) -> bool:
    if kind in ("model", "diva-state"):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError, RecursionError):
            return False
        return isinstance(info, dict) and "labkit_version" in info
    return True


# ----------------------------------------------------------------------------- checks before work
def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _holds(folder: Path, path: Path) -> bool:
    """Whether ``path`` lies inside ``folder`` (both resolved)."""
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(folder))
    except ValueError:
        return False
    return True


def _writable_parent(path: Path, option: str) -> None:
    """The nearest existing folder above ``path`` must be a folder the kit can write in."""
    parent = Path(os.path.abspath(path)).parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{option} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: cannot write in {parent} (permission denied)")
    if parent == Path(os.path.abspath(path)).parent:
        try:  # the true test (read-only file systems, ACLs)
            fd, probe = tempfile.mkstemp(dir=parent, prefix=".labkit-probe-")
        except OSError as err:
            raise OutputError(f"{option} {path}: cannot write in {parent} ({err.strerror})") from None
        os.close(fd)
        os.unlink(probe)


def check_inputs_apart(path: str | Path, inputs: Iterable[str | Path | None], option: str) -> None:
    """Refuse an output that is one of ``inputs`` or a folder holding one."""
    path = Path(path)
    for given in inputs:
        if given is None:
            continue
        given = Path(given)
        if _same_file(path, given) or os.path.realpath(path) == os.path.realpath(given):
            raise OutputError(f"{option} {path} is also an input ({given}): choose another output")
        if given.exists() and _holds(path, given) and path.is_dir():
            raise OutputError(f"{option} {path} holds an input ({given}): choose another output")


def check_output_file(path: str | Path, *, kind: str, inputs: Iterable[str | Path | None] = (), option: str = "--out") -> Path:
    """Check, before any work, that ``path`` can take an output file of ``kind``: not a folder, not
    an input, in a writable folder, and either new, empty, or an earlier output of the same kind."""
    path = Path(path)
    check_inputs_apart(path, inputs, option)
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder; give a file name")
    if path.exists():
        if not path.is_file():
            raise OutputError(f"{option} {path} exists and is not a regular file")
        ours = PATH_KINDS[kind] if kind in PATH_KINDS else (lambda p: FILE_KINDS[kind](_first_line(p) or "\x00"))
        if path.stat().st_size and not ours(path):
            raise OutputError(f"{option} {path} exists and is not a labkit {kind} file: labkit replaces only its own "
                              "outputs; move it away or choose another name")
    _writable_parent(path, option)
    return path


def check_output_folder(folder: str | Path, *, kind: str, inputs: Iterable[str | Path | None] = (), option: str = "--out") -> Path:
    """Check, before any work, that ``folder`` can take a labkit folder of ``kind``: new, empty, or
    a labkit folder of the same kind holding only the files the kit wrote; never an input."""
    folder = Path(folder)
    check_inputs_apart(folder, inputs, option)
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise OutputError(f"{option} {folder} is a file, not a folder")
        if any(folder.iterdir()):
            found, foreign = folder_kind(folder)
            if found is None:
                sample = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
                raise OutputError(f"{option} {folder} is not empty and is not a folder labkit wrote (it holds {sample}): "
                                  "labkit replaces only its own folders; choose a new or empty folder")
            if found != kind:
                raise OutputError(f"{option} {folder} is a labkit {found} folder, not a {kind} folder: choose another folder")
            if foreign:
                sample = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
                raise OutputError(f"{option} {folder} is a labkit {kind} folder but also holds files labkit did not write "
                                  f"({sample}): move them away or choose another folder")
    _writable_parent(folder, option)
    return folder


# ----------------------------------------------------------------------------- writing
def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file, fsync and a rename: never half a file.
    The file gets the permissions of an ordinary new file (0666 less the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """``atomic_write_bytes`` of ``text`` in UTF-8 with "\\n" line ends."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_output_file(path: str | Path, text: str, *, kind: str, option: str = "--out") -> Path:
    """Write an output file of ``kind`` atomically, after :func:`check_output_file`."""
    check_output_file(path, kind=kind, option=option)
    return atomic_write_text(path, text)


@contextlib.contextmanager
def streamed_output_file(path: str | Path, *, kind: str, option: str = "--out", binary: bool = False):
    """A text handle (a binary one with ``binary``) to write an output file of ``kind`` piece by
    piece: it goes to a temporary file beside ``path`` and is renamed into place (after
    :func:`check_output_file`) only when the block ends without an error; otherwise the temporary
    file is removed and ``path`` is as it was."""
    path = Path(path)
    check_output_file(path, kind=kind, option=option)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        check_output_file(path, kind=kind, option=option)  # still ours to replace
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_folder(folder: str | Path, write: Callable[[Path], None], *, kind: str, option: str = "folder") -> Path:
    """Call ``write(tmp)`` on a temporary folder beside ``folder``, add the marker listing what it
    wrote, flush every file, and rename it into place. An existing ``folder`` is replaced only as
    :func:`check_output_folder` allows (else :class:`OutputError`, and nothing is touched):
    readers see the old folder or the new one, never a mixture."""
    folder = Path(folder)
    check_output_folder(folder, kind=kind, option=option)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        write(tmp)
        files = [f for f in _files_below(tmp) if f != MARKER]
        marker = {"written_by": "labkit", "kind": kind, "files": files,
                  "note": "labkit replaces this folder only with another of the same kind, and only while it holds no other files"}
        (tmp / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
        file_mode, dir_mode = 0o666 & ~_umask(), 0o777 & ~_umask()
        for root, _dirs, names in os.walk(tmp):
            os.chmod(root, dir_mode)
            for name in names:
                path = Path(root) / name
                os.chmod(path, file_mode)
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        old = None
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
            os.replace(folder, old / folder.name)
        try:
            os.replace(tmp, folder)
        except BaseException:
            if old is not None:  # put the earlier folder back
                os.replace(old / folder.name, folder)
            raise
        _fsync_dir(folder.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder
