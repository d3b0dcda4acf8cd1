"""`modelgit init`: make a directory a git + DVC project, optionally with the example pipeline."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from modelgit.errors import ExampleError, GitError, NotAGitRepoError
from modelgit.sources import dvc, git

EXAMPLE_FILES = ("dvc.yaml", "params.yaml", "pipeline")
_PACKAGED = Path(__file__).parent.parent / "_example"
_CHECKOUT = Path(__file__).parent.parent.parent  # a source checkout keeps the example at its root


@dataclass(frozen=True)
class InitResult:
    """What `init` did."""

    path: Path
    actions: tuple[str, ...]


def example_source() -> Path:
    """Where the example pipeline's files are: inside the wheel, or at a source checkout's root."""
    for candidate in (_PACKAGED, _CHECKOUT):
        if all((candidate / name).exists() for name in EXAMPLE_FILES):
            return candidate
    raise ExampleError("the example pipeline is missing from this installation of modelgit")


def _copy_example(target: Path) -> None:
    source = example_source()
    for name in EXAMPLE_FILES:
        if (source / name).is_dir():
            shutil.copytree(
                source / name, target / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source / name, target / name)
    requirements = source / "requirements.txt"
    if not requirements.exists():
        requirements = source / "requirements-example.txt"
    shutil.copy2(requirements, target / "requirements.txt")


def init(path: Path | str = ".", *, example: bool = False) -> InitResult:
    """Make `path` a git + DVC project; with `example`, a new one holding the example pipeline."""
    target = Path(path).resolve()
    actions: list[str] = []
    if example and target.exists() and any(target.iterdir()):
        raise ExampleError(f"{target} is not empty; give `init --example` a new or empty directory")
    if target.exists() and not target.is_dir():
        raise ExampleError(f"{target} is a file, not a directory")
    target.mkdir(parents=True, exist_ok=True)
    try:
        git.toplevel(target)
    except NotAGitRepoError:
        git.init(target)
        actions.append("git init")
    root = git.toplevel(target)
    if not (root / ".dvc").is_dir():
        dvc.init(root)
        actions.append("dvc init")
    if example:
        _copy_example(target)
        actions.append("copied the example pipeline (dvc.yaml, params.yaml, pipeline/)")
        try:
            git.commit_everything(root, "Add the modelgit example pipeline")
        except GitError as exc:
            raise ExampleError(
                f"could not commit the example ({exc!s}); "
                "set `git config user.name` and `user.email` and retry"
            ) from exc
        actions.append("committed")
    return InitResult(path=target, actions=tuple(actions))
