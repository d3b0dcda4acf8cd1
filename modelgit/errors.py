"""The one exceptions module: every error a user can act on is a ModelgitError."""

from __future__ import annotations

INPUT_ERROR = 2
CHECK_FAILED = 1


class ModelgitError(Exception):
    """Base of every error modelgit reports as one line; `exit_code` is what the CLI returns."""

    exit_code = INPUT_ERROR


class NotAGitRepoError(ModelgitError):
    """The directory is not inside a git work tree."""


class NoCommitsError(ModelgitError):
    """The repository has no commit to tag yet."""


class NotADvcProjectError(ModelgitError):
    """The git repository has no `.dvc/` directory."""


class GitError(ModelgitError):
    """A git command failed; carries the command and git's own message."""

    def __init__(self, command: list[str], stderr: str) -> None:
        self.command = command
        self.stderr = stderr.strip()
        first = self.stderr.splitlines()[-1] if self.stderr else "no message"
        super().__init__(f"`git {' '.join(command)}` failed: {first}")


class InputError(ModelgitError):
    """A path or value given on the command line is not usable."""


class InvalidNameError(ModelgitError):
    """A model, stage or tag name breaks the grammar."""


class UnknownModelError(ModelgitError):
    """No declared or registered model has that name, or none was named when several exist."""


class UnknownVersionError(ModelgitError):
    """The model has no such version or stage assignment."""


class UnknownTargetError(ModelgitError):
    """An impact or lineage target names nothing in the pipeline."""


class PromotionError(ModelgitError):
    """A stage change that the registry's rules refuse."""


class ManifestError(ModelgitError):
    """Manifests cannot be rendered or written as asked."""


class VerificationError(ModelgitError):
    """A version does not verify."""

    exit_code = CHECK_FAILED


class UnsafePickleError(ModelgitError):
    """A pickle-based artifact imports globals that execute code."""


class DirtyWorkspaceError(ModelgitError):
    """Files the model depends on have uncommitted changes."""


class StalePipelineError(ModelgitError):
    """DVC reports the pipeline or the artifact out of date with dvc.lock."""


class AlreadyRegisteredError(ModelgitError):
    """The artifact at HEAD is the one an existing version already records."""


class TagExistsError(ModelgitError):
    """The tag to create exists already; tags are never moved."""


class VersionOrderError(ModelgitError):
    """An explicit version is not greater than the latest one."""


class PipelineError(ModelgitError):
    """dvc.yaml, dvc.lock or a file they name cannot be read or does not make sense."""


class MetadataError(ModelgitError):
    """A tag message is not a valid metadata document."""


class ExampleError(ModelgitError):
    """The example project cannot be created where asked."""
