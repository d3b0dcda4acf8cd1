"""The only module that imports dvc, and only inside functions: `import dvc` costs ~0.4 s."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelgit.errors import NotADvcProjectError, PipelineError
from modelgit.sources.tree import Tree

LOCK_WAIT_SECONDS = 120


def require_dvc_project(repo: Path) -> None:
    """Refuse a git repository that `dvc init` has not set up."""
    if not (repo / ".dvc").is_dir():
        raise NotADvcProjectError(f"{repo} is not a DVC project (no .dvc/); run `dvc init` first")


def init(repo: Path) -> None:
    """`dvc init` in a git work tree."""
    from dvc.repo import Repo

    with _quiet():
        Repo.init(str(repo))


def stale(repo: Path, stages: dict[str, set[str] | None]) -> dict[str, list[str]]:
    """What `dvc status` reports out of date among `stages`, per stage.

    `stages` maps a repo-relative dvc.yaml to the names of the stages to check in it, or a
    `.dvc` file to None. Only those files are loaded and only those stages are checked: DVC's
    own target collection (`dvc status TARGET --with-deps`) builds and cycle-checks the whole
    pipeline's graph and re-reads every dvc.lock per target, which costs several times what
    checking the stages does on a 1,000-stage pipeline.
    """
    from dvc.exceptions import DvcException
    from dvc.lock import LockError
    from dvc.repo import Repo

    # A sibling process (another bump, a `dvc` command) holding DVC's repo lock is waited for,
    # up to a bound: DVC itself gives up after a few seconds and calls that a failure.
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            with _quiet(), Repo(str(repo)) as dvc_repo, dvc_repo.lock:
                status = _status_of(dvc_repo, stages)
            break
        except DvcException as exc:
            # DVC words some lock failures as a plain DvcException; both mean "wait".
            if not isinstance(exc, LockError) and "acquire lock" not in str(exc):
                raise PipelineError(f"dvc status failed: {str(exc).splitlines()[0]}") from exc
            if time.monotonic() > deadline:
                raise PipelineError(
                    f"DVC's lock stayed taken for {LOCK_WAIT_SECONDS} s (another DVC process "
                    "is running); try again when it has finished"
                ) from exc
            time.sleep(0.2)
    return {
        _stage_name(repo, name): _describe(changes) for name, changes in status.items() if changes
    }


def _status_of(dvc_repo: Any, stages: dict[str, set[str] | None]) -> dict[str, Any]:
    """`dvc status` of the named stages, each loaded (templates resolved) and checked once."""
    from dvc.dvcfile import load_file

    status: dict[str, Any] = {}
    for dvcfile, names in stages.items():
        loader = load_file(dvc_repo, os.path.join(dvc_repo.root_dir, dvcfile)).stages
        chosen = loader.values() if names is None else (loader[name] for name in sorted(names))
        for stage in chosen:
            status.update(stage.status(check_updates=True))
    return status


def _stage_name(repo: Path, address: str) -> str:
    """DVC names stages relative to the process's cwd; name them relative to the repo instead."""
    path, sep, name = address.rpartition(":")
    if not sep or not path.endswith("dvc.yaml"):
        return address
    relative = os.path.relpath(os.path.abspath(path), repo)
    return name if relative == "dvc.yaml" else f"{relative}:{name}"


def _describe(changes: Any) -> list[str]:
    """Turn DVC's nested status entries into short phrases like `changed outs: models/x.pkl`."""
    phrases: list[str] = []
    for change in changes if isinstance(changes, list) else [changes]:
        if isinstance(change, str):
            phrases.append(change)
            continue
        for kind, detail in change.items():
            if isinstance(detail, dict):
                items = ", ".join(f"{path} ({_state(state)})" for path, state in detail.items())
                phrases.append(f"{kind}: {items}")
            else:
                phrases.append(f"{kind}: {detail}")
    return phrases


def _state(state: Any) -> str:
    if isinstance(state, dict):
        return ", ".join(f"{key} {value}" for key, value in state.items())
    return str(state)


@contextlib.contextmanager
def _quiet() -> Any:
    """Keep DVC's own logging and progress output off our one-line contract."""
    logger = logging.getLogger("dvc")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def cache_path(repo: Path, md5: str) -> Path | None:
    """Where the project's local DVC cache (default location) keeps a file by md5, if it does.

    DVC 3 keeps objects under `.dvc/cache/files/md5/`, DVC 2 under `.dvc/cache/`.
    """
    if md5.endswith(".dir") or len(md5) < 3:
        return None
    for cache in (repo / ".dvc" / "cache" / "files" / "md5", repo / ".dvc" / "cache"):
        candidate = cache / md5[:2] / md5[2:]
        if candidate.is_file():
            return candidate
    return None


def read_cached(repo: Path, md5: str) -> bytes | None:
    """A file's bytes from the project's local DVC cache by md5, or None."""
    path = cache_path(repo, md5)
    return path.read_bytes() if path is not None else None


def resolve_stages(tree: Tree, dvcfile: str, document: dict[str, Any]) -> dict[str, Any]:
    """DVC's own resolution of a templated dvc.yaml (foreach, matrix, vars, `${}`) in a tree.

    A commit is read through DVC's git filesystem (no checkout), the work tree from disk.
    """
    from types import SimpleNamespace

    from dvc.exceptions import DvcException
    from dvc.parsing import DataResolver
    from dvc.parsing.interpolate import ParseError

    directory = os.path.dirname(dvcfile)
    if tree.commit is not None:
        from dvc.fs import GitFileSystem
        from scmrepo.git import Git

        fs: Any = GitFileSystem(scm=Git(str(tree.repo)), rev=tree.commit)
        wdir = directory
    else:
        from dvc.fs import LocalFileSystem

        fs = LocalFileSystem()
        wdir = str(tree.repo / directory)  # DataResolver makes it relative to the cwd
    try:
        resolved = DataResolver(SimpleNamespace(fs=fs, config={}), wdir, document).resolve()
    except (DvcException, ParseError) as exc:
        raise PipelineError(f"{dvcfile} at {tree.label}: {str(exc).splitlines()[0]}") from exc
    return resolved.get("stages") or {}


def _remote_object(repo: Path, md5: str) -> tuple[Any, str]:
    """The default DVC remote's filesystem and where it keeps the object with this md5."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with _quiet(), Repo(str(repo)) as dvc_repo:
            odb = dvc_repo.cloud.get_remote_odb()
            return odb.fs, odb.oid_to_path(md5)
    except ImportError as exc:
        from modelgit.errors import MissingPluginError

        raise MissingPluginError(_missing_plugin(exc)) from exc
    except DvcException as exc:
        raise PipelineError(
            f"the project has no default DVC remote ({str(exc).splitlines()[0]}); configure one "
            "with `dvc remote add -d NAME URL` and `dvc push`"
        ) from exc


def remote_url(repo: Path, md5: str) -> str:
    """Where the project's default DVC remote keeps the object with this md5 (DVC's layout)."""
    fs, location = _remote_object(repo, md5)
    return str(fs.unstrip_protocol(location))


def remote_has(repo: Path, md5: str) -> bool:
    """True when the project's default DVC remote holds the object with this md5."""
    fs, location = _remote_object(repo, md5)
    return bool(fs.exists(location))


def open_remote(repo: Path, md5: str) -> Any:
    """A callable opening the remote's object with this md5 for reading, or None if absent."""
    if not (repo / ".dvc").is_dir():
        return None
    try:
        fs, location = _remote_object(repo, md5)
        if not fs.exists(location):
            return None
    except (PipelineError, OSError):
        return None
    return lambda: fs.open(location, mode="rb")


def default_remote_url(repo: Path) -> str | None:
    """The URL of the project's default DVC remote as DVC resolves it, or None without one."""
    from dvc.config import Config, ConfigError

    try:
        with _quiet():
            config = Config(str(repo / ".dvc"))
    except ConfigError as exc:
        raise PipelineError(f"DVC's config does not parse: {str(exc).splitlines()[0]}") from exc
    name = config["core"].get("remote")
    if not name:
        return None
    remote = config["remote"].get(name)
    if remote is None:
        raise PipelineError(f"DVC's default remote {name!r} is not defined in .dvc/config")
    return str(remote["url"])


def cache_object(repo: Path, oid: str) -> Path | None:
    """Where the project's local DVC cache keeps an object by its hash, a directory's
    `.dir` listing included (`cache_path` serves files only), if it does."""
    if len(oid) < 3:
        return None
    for cache in (repo / ".dvc" / "cache" / "files" / "md5", repo / ".dvc" / "cache"):
        candidate = cache / oid[:2] / oid[2:]
        if candidate.is_file():
            return candidate
    return None


class RemoteObjects:
    """The default DVC remote's objects by hash, with DVC opened once for many look-ups and only
    when the first one is made; `problem` says why the remote could not be read, if it could not.
    """

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.problem: str | None = None
        self._store: tuple[Any, Any] | None = None  # (filesystem, object database)
        self._opened = False

    def open(self, oid: str) -> Any:
        """The object opened for binary reading, or None when the remote lacks it or is out of
        reach (then `problem` says why)."""
        store = self._connect()
        if store is None:
            return None
        fs, odb = store
        location = odb.oid_to_path(oid)
        try:
            if not fs.exists(location):
                return None
            return fs.open(location, mode="rb")
        except Exception as exc:  # each remote's filesystem raises its own errors
            self.problem = f"the DVC remote is out of reach: {_first_line(exc)}"
            return None

    def _connect(self) -> tuple[Any, Any] | None:
        if self._opened:
            return self._store
        self._opened = True
        if not (self.repo / ".dvc").is_dir():
            self.problem = "the project has no DVC remote (it is not a DVC project)"
            return None
        from dvc.config import NoRemoteError
        from dvc.repo import Repo

        try:
            with _quiet(), Repo(str(self.repo)) as dvc_repo:
                odb = dvc_repo.cloud.get_remote_odb()
        except NoRemoteError:
            self.problem = "no default DVC remote is configured"
            return None
        except Exception as exc:  # a missing plugin, a bad config, a cloud-versioned remote
            self.problem = f"the project has no usable default DVC remote ({_first_line(exc)})"
            return None
        self._store = (odb.fs, odb)
        return self._store


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def collect_garbage(
    repo: Path, keep_revs: list[str], *, cloud: bool, remote: str | None = None
) -> tuple[int, int]:
    """Remove cache (and with `cloud`, remote) objects that no kept revision, branch tip or the
    workspace uses: DVC's own `gc` with many `--rev`s. Returns (local, remote) objects removed."""
    from dvc.repo import Repo
    from dvc.repo.gc import _merge_remote_obj_ids  # what `dvc gc --cloud` itself does
    from dvc_data.hashfile.db import get_index
    from dvc_data.hashfile.gc import gc as object_gc

    with _quiet(), Repo(str(repo)) as dvc_repo, dvc_repo.lock:
        used: dict[Any, set[Any]] = {}
        found = dvc_repo.used_objs(all_branches=True, revs=keep_revs, remote=remote, force=True)
        for odb, ids in found.items():
            used.setdefault(odb, set()).update(ids)
        if cloud:
            _merge_remote_obj_ids(dvc_repo, remote, used)
        every: set[Any] = set().union(*used.values()) if used else set()
        local = 0
        seen = []
        for _, odb in dvc_repo.cache.by_scheme():
            if odb and odb not in seen:
                seen.append(odb)
                local += object_gc(odb, every) or 0
        removed_remote = 0
        if cloud:
            for odb, ids in used.items():
                count = object_gc(odb, ids) or 0
                if count:
                    get_index(odb).clear()
                removed_remote += count
    return local, removed_remote


def remove_remote_folders(repo: Path, relative: list[str], remote: str | None = None) -> list[str]:
    """Delete folders under the DVC remote's root (published copies); returns their URIs."""
    from dvc.repo import Repo

    removed = []
    with _quiet(), Repo(str(repo)) as dvc_repo:
        target = dvc_repo.cloud.get_remote(remote)
        for folder in relative:
            path = target.fs.join(target.path, folder)
            if target.fs.exists(path):
                target.fs.rm(path, recursive=True)
                removed.append(str(target.fs.unstrip_protocol(path)))
    return removed


def download(
    source: str, rev: str, path: str, to: Path, progress: Callable[[str, int, int], None] | None
) -> None:
    """Copy `path` as revision `rev` of the DVC project at `source` (a local path or a git URL)
    has it into `to`, from its cache or remote, as `dvc get` does."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from fsspec.callbacks import Callback

    class _Report(Callback):  # type: ignore[misc]
        def call(self, *args: Any, **kwargs: Any) -> None:
            if progress is not None and self.size:
                progress(path, int(self.value), int(self.size))

    try:
        with _quiet(), Repo.open(url=source, rev=rev, subrepos=True, uninitialized=True) as repo:
            fs = repo.dvcfs
            fs_path = fs.from_os_path(path)
            fs.get(fs_path, str(to), recursive=fs.isdir(fs_path), callback=_Report())
    except ImportError as exc:
        raise PipelineError(_missing_plugin(exc)) from exc
    except (DvcException, FileNotFoundError) as exc:
        raise PipelineError(
            f"cannot fetch {path} at {rev}: {str(exc).splitlines()[0] or type(exc).__name__}"
            " (is it in the DVC cache or pushed to the project's remote?)"
        ) from exc


def _missing_plugin(error: ImportError) -> str:
    """One line naming the extra that brings the DVC plugin an import error asks for."""
    text = str(error)
    for scheme, extra in (("s3", "s3"), ("gs", "gs"), ("gcs", "gs"), ("azure", "azure")):
        if f"'dvc-{scheme}'" in text or f"{scheme} is supported" in text:
            install = f"pip install 'modelgit[{extra}]'"
            return f"the DVC remote needs dvc-{scheme}; install it with `{install}`"
    return f"a DVC plugin is missing: {text.splitlines()[0]}"


def check_remote(repo: Path, name: str | None) -> None:
    """Refuse, with one line, a DVC remote name the project does not define (None: the default)."""
    from dvc.config import Config, ConfigError

    try:
        with _quiet():
            config = Config(str(repo / ".dvc"))
    except ConfigError as exc:
        raise PipelineError(f"DVC's config does not parse: {str(exc).splitlines()[0]}") from exc
    wanted = name or config["core"].get("remote")
    if not wanted:
        raise PipelineError("the project has no default DVC remote; name one with --remote")
    if wanted not in config["remote"]:
        known = ", ".join(sorted(config["remote"])) or "none"
        raise PipelineError(f"no DVC remote named {wanted!r}; remotes: {known}")


class RemoteStore:
    """The project's default DVC remote through DVC's own filesystem layer (dvc-objects):
    where its objects are, and reading, hashing and writing files in it."""

    def __init__(self, repo: Path, name: str, url: str, fs: Any, root: str, odb: Any) -> None:
        self.repo = repo
        self.name = name
        self.url = url.rstrip("/")
        self.fs = fs
        self.root = root.rstrip("/")
        self._odb = odb

    def path_of(self, relative: str) -> str:
        """The filesystem path of `relative` (a `/`-separated path) under the remote's root."""
        return self.fs.join(self.root, *relative.split("/"))

    def object_path(self, md5: str) -> str:
        """Where the remote keeps DVC's object with this md5."""
        return str(self._odb.oid_to_path(md5))

    def exists(self, path: str) -> bool:
        """True when the remote holds a file at `path`."""
        return bool(self.fs.isfile(path))

    def size(self, path: str) -> int:
        """The size in bytes of the file at `path`."""
        return int(self.fs.size(path))

    def open(self, path: str) -> Any:
        """A binary reader of the file at `path`."""
        return self.fs.open(path, mode="rb")

    def download(self, path: str, local: Path) -> None:
        """Copy the remote file at `path` to a local file."""
        self.fs.get_file(path, str(local))

    def upload(self, local: Path, path: str) -> None:
        """Copy a local file to `path` in the remote (its directories are made as needed)."""
        self.fs.makedirs(self.fs.parent(path), exist_ok=True)
        self.fs.put_file(str(local), path)

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write small bytes (a descriptor) to `path` in the remote."""
        self.fs.makedirs(self.fs.parent(path), exist_ok=True)
        self.fs.pipe_file(path, data)

    def read_bytes(self, path: str) -> bytes:
        """The bytes of a small remote file."""
        return bytes(self.fs.cat_file(path))


def default_remote(repo: Path) -> RemoteStore:
    """The default DVC remote, ready to use; a missing plugin is one line naming the extra."""
    from dvc.exceptions import DvcException

    require_dvc_project(repo)
    url = default_remote_url(repo)
    if url is None:
        raise PipelineError(
            "the project has no default DVC remote; add one with `dvc remote add -d NAME URL`"
        )
    from dvc.repo import Repo

    try:
        with _quiet(), Repo(str(repo)) as dvc_repo:
            remote = dvc_repo.cloud.get_remote()
            odb = dvc_repo.cloud.get_remote_odb()
            return RemoteStore(repo, remote.name, url, remote.fs, remote.path, odb)
    except ImportError as exc:
        from modelgit.errors import MissingPluginError

        raise MissingPluginError(_missing_plugin(exc)) from exc
    except DvcException as exc:
        raise PipelineError(f"DVC remote {url}: {str(exc).splitlines()[0]}") from exc


def directory_listing(data: bytes) -> list[tuple[str, str]]:
    """DVC's `.dir` object as (relative path, md5) pairs, in DVC's order."""
    import json

    try:
        entries = json.loads(data)
        return [(str(entry["relpath"]), str(entry["md5"])) for entry in entries]
    except (ValueError, KeyError, TypeError) as exc:
        raise PipelineError(f"a DVC directory listing does not parse: {exc}") from exc


# Statuses that say a file is absent here (CI checks out without `dvc pull`), not changed.
_ABSENT = {"deleted", "not in cache"}


def stale_inputs(repo: Path) -> dict[str, list[str]]:
    """Stages whose dvc.lock no longer matches their command, params or dependencies, as
    `dvc status` sees the work tree; outputs and files that are merely absent do not count."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with _quiet(), Repo(str(repo)) as dvc_repo:
            status = dvc_repo.status()
    except DvcException as exc:
        raise PipelineError(f"dvc status failed: {str(exc).splitlines()[0]}") from exc
    found: dict[str, list[str]] = {}
    for name, changes in status.items():
        reasons = _input_changes(changes if isinstance(changes, list) else [changes])
        if reasons:
            found[_stage_name(repo, name)] = reasons
    return found


def _input_changes(changes: list[Any]) -> list[str]:
    reasons: list[str] = []
    for change in changes:
        if change == "changed command":
            reasons.append(change)
        if not isinstance(change, dict):
            continue
        for path, state in (change.get("changed deps") or {}).items():
            if isinstance(state, str) and state in _ABSENT:
                continue
            reasons.append(f"changed deps: {path} ({_state(state)})")
    return reasons
