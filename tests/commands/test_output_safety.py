"""Every command that writes files: never over a file modelgit did not write, never through a
symlink, and nothing at all when it refuses (`ci release --out`, `ci report --out`,
`manifest --out`, `ci init`)."""

from __future__ import annotations

from typer.testing import CliRunner

from modelgit.cli.app import app

runner = CliRunner()


def run(repo, *args: str):
    return runner.invoke(app, [*args, "-C", str(repo)])


def baked(repo) -> None:
    """No DVC remote for pods to download from: the model is baked into a per-version image."""
    (repo / ".modelgit.yaml").write_text("deploy: {image: 'acme/{model}:{version}'}\n")


def test_release_out_keeps_a_hand_written_summary(registry):
    baked(registry)
    out = registry / "release"
    out.mkdir()
    (out / "summary.md").write_text("my own notes\n")
    result = run(registry, "ci", "release", "churn@v0.2.0", "--out", str(out))
    assert result.exit_code == 2
    assert "summary.md exists and was not written by modelgit" in result.stderr
    assert (out / "summary.md").read_text() == "my own notes\n"
    again = run(registry, "ci", "release", "churn@v0.2.0", "--out", str(registry / "mine"))
    assert again.exit_code == 0
    twice = run(registry, "ci", "release", "churn@v0.2.0", "--out", str(registry / "mine"))
    assert twice.exit_code == 0  # its own summary is replaced


def test_report_out_never_overwrites_another_file(retrained):
    out = retrained / "report.md"
    out.write_text("# Design notes\n")
    result = run(retrained, "ci", "report", "--base", "HEAD~1", "--out", str(out))
    assert result.exit_code == 2 and "not written by modelgit" in result.stderr
    assert out.read_text() == "# Design notes\n"


def test_nothing_is_written_through_a_symlink(registry, tmp_path):
    baked(registry)
    outside = tmp_path / "outside.md"
    outside.write_text("precious\n")
    out = registry / "release"
    out.mkdir()
    (out / "summary.md").symlink_to(outside)
    result = run(registry, "ci", "release", "churn@v0.2.0", "--out", str(out))
    assert result.exit_code == 2 and "is a symlink" in result.stderr
    assert outside.read_text() == "precious\n"
    # A symlinked directory under --out (manifests/ -> elsewhere) is refused too.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    deploy = registry / "deploy"
    deploy.mkdir()
    (deploy / "manifests").symlink_to(elsewhere, target_is_directory=True)
    manifest = run(registry, "manifest", "churn@v0.2.0", "--strategy", "bluegreen", "--out",
                   str(deploy / "manifests"))  # fmt: skip
    assert manifest.exit_code == 2
    released = run(registry, "ci", "release", "churn@v0.2.0", "--out", str(deploy))
    assert released.exit_code == 2 and "outside the project" in released.stderr
    assert list(elsewhere.iterdir()) == []
    # Even a link that stays inside the project is not written through.
    inside = registry / "other"
    inside.mkdir()
    (registry / "linked").symlink_to(inside, target_is_directory=True)
    linked = run(registry, "manifest", "churn@v0.2.0", "--strategy", "bluegreen", "--out",
                 str(registry / "linked"))  # fmt: skip
    assert linked.exit_code == 2 and "linked is a symlink" in linked.stderr
    assert list(inside.iterdir()) == []
    # A report path that is a link to a file outside.
    (registry / "report.md").symlink_to(outside)
    report = run(registry, "ci", "report", "--base", "HEAD", "--out", str(registry / "report.md"))
    assert report.exit_code == 2 and outside.read_text() == "precious\n"


def test_ci_init_force_still_refuses_a_symlinked_workflow(registry, tmp_path):
    outside = tmp_path / "outside.yml"
    outside.write_text("mine: true\n")
    workflows = registry / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "modelgit-release.yml").symlink_to(outside)
    result = run(registry, "ci", "init", "--force")
    assert result.exit_code == 2 and "is a symlink" in result.stderr
    assert outside.read_text() == "mine: true\n"
    assert not (workflows / "modelgit-report.yml").exists()  # a refusal writes nothing


def test_card_out_is_not_written_through_a_symlink(registry, tmp_path):
    outside = tmp_path / "outside.html"
    outside.write_text("precious\n")
    (registry / "card.html").symlink_to(outside)
    result = run(registry, "card", "churn", "--html", "-o", str(registry / "card.html"))
    assert result.exit_code == 2 and "is a symlink" in result.stderr
    assert outside.read_text() == "precious\n"
