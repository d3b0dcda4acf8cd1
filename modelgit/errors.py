"""The one exceptions module: every error a user can act on is a ModelgitError.

Two families decide the exit code the CLI returns: an `InputError` (exit 2) means the request
cannot be carried out as given (a bad name, a missing file, a dirty workspace); a
`CheckFailedError` (exit 1) means the request was carried out and what it checked failed (a
version that does not verify, a gate, a health check). Anything else is a bug (exit 3).
"""

from __future__ import annotations

INPUT_ERROR = 2
CHECK_FAILED = 1


class ModelgitError(Exception):
    """Base of every error modelgit reports as one line; `exit_code` is what the CLI returns."""

    exit_code = INPUT_ERROR


class InputError(ModelgitError):
    """The request cannot be carried out as given (exit 2)."""

    exit_code = INPUT_ERROR


class CheckFailedError(ModelgitError):
    """What the command checked failed: verification, a gate, a health check (exit 1)."""

    exit_code = CHECK_FAILED


class NotAGitRepoError(InputError):
    """The directory is not inside a git work tree."""


class NoCommitsError(InputError):
    """The repository has no commit to tag yet."""


class NotADvcProjectError(InputError):
    """The git repository has no `.dvc/` directory."""


class GitError(InputError):
    """A git command failed; carries the command and git's own message."""

    def __init__(self, command: list[str], stderr: str) -> None:
        self.command = command
        self.stderr = stderr.strip()
        super().__init__(f"`git {' '.join(command)}` failed: {self.first_line}")

    @property
    def first_line(self) -> str:
        """git's first `fatal:`/`error:` line, else its first line: later lines only elaborate
        ("Please make sure you have the correct access rights / and the repository exists.")."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
        return (errors or lines or ["no message"])[0]

    @property
    def reason(self) -> str:
        """What the server said (`remote:` lines, a hook's message), else `first_line`: for a
        refused push, git's own summary only says that some refs failed."""
        said = [line[7:].strip() for line in self.stderr.splitlines() if line.startswith("remote:")]
        return "; ".join(line for line in said if line) or self.first_line


class InvalidNameError(InputError):
    """A model, stage, tag name or version breaks the grammar."""


class UnknownStageError(InvalidNameError):
    """A stage name that no configuration or tag knows (a typo, most likely)."""


class ConfigError(InputError):
    """`.modelgit.yaml` is not valid."""


class GateRuleError(InputError):
    """A `--fail-on` gate rule does not parse."""


class WeightsError(InputError):
    """Traffic weights are malformed, negative, or do not sum to 1."""


class UnknownModelError(InputError):
    """No declared or registered model has that name, or none was named when several exist."""


class UnknownVersionError(InputError):
    """The model has no such version or stage assignment, or a revision names nothing."""


class UnknownTargetError(InputError):
    """An impact or lineage target names nothing in the pipeline."""


class PromotionError(InputError):
    """A stage change that the registry's rules refuse."""


class ManifestError(InputError):
    """Manifests cannot be rendered or written as asked."""


class ExampleError(InputError):
    """The example project cannot be created where asked."""


class UnsafePickleError(InputError):
    """A pickle-based artifact imports globals not on the allow-list; bump refuses it."""


class DirtyWorkspaceError(InputError):
    """Files the model depends on have uncommitted changes."""


class StalePipelineError(InputError):
    """DVC reports the pipeline or the artifact out of date with dvc.lock."""


class AlreadyRegisteredError(InputError):
    """The artifact at HEAD is the one an existing version already records."""


class PushError(InputError):
    """A tag was created locally but could not be pushed; the message says how to retry."""


class TagExistsError(InputError):
    """The tag to create exists already; tags are never moved."""


class VersionOrderError(InputError):
    """An explicit version is not greater than the latest one."""


class PipelineError(InputError):
    """dvc.yaml, dvc.lock or a file they name cannot be read or does not make sense."""


class MetadataError(InputError):
    """A tag message is not a valid metadata document."""


class MetadataTooLargeError(MetadataError):
    """A metadata document would exceed the size modelgit reads back; nothing is tagged."""


class IncompleteCloneError(InputError):
    """A shallow or tagless clone lacks version tags that a new version must follow."""


class PushRejectedError(InputError):
    """The remote refused a new tag; the local tag was removed again."""


class RegistryBusyError(InputError):
    """Another process kept the model's tag lock longer than we wait."""


class OutputFileError(InputError):
    """A file or folder modelgit would write belongs to someone else, or is a symlink."""


class RemoteError(InputError):
    """A remote repository or object store could not be read."""


class UnknownMetricError(InputError):
    """A gate or `--metric` names a metric no compared model or version has."""


class MissingPluginError(InputError):
    """The DVC remote's protocol needs a DVC plugin that is not installed."""


class PublishConflictError(InputError):
    """The published location already holds different bytes for the version; it is write-once."""


class SigningSetupError(InputError):
    """git is not set up to sign as a stage policy demands (gpg.format, user.signingkey)."""


class ArchiveStageError(InputError):
    """The archive stage named is a working stage: archiving into it would move a deployment."""


class InstallSpecError(InputError):
    """`ci init --install-spec` is not one pip requirement for modelgit safe to write into CI."""


class AmbiguousReferenceError(InvalidNameError):
    """A bare name that is both a model and a git revision, where either could be meant."""


class VerificationError(CheckFailedError):
    """A version does not verify."""


class GateFailedError(CheckFailedError):
    """A `--fail-on` gate failed on a comparison."""


class UnsafeGlobalsError(CheckFailedError):
    """`scan` found pickle globals not on the allow-list, or could not read a pickle."""


class RolloutFailedError(CheckFailedError):
    """A rollout's health check failed and the stage was rolled back."""


class PolicyError(CheckFailedError):
    """A stage change or stage tag breaks the stage policy (signer, required checks, order)."""


class PublishCheckError(CheckFailedError):
    """The bytes to publish, or the bytes published, do not hash to the version's md5."""


class StaleHeadError(CheckFailedError):
    """`ci report --require-fresh`: the head's dvc.lock does not match its params or deps."""
