"""Commands that deploy: manifest (Kubernetes YAML) and rollout (promote, watch, roll back)."""

from pathlib import Path
from typing import Annotated

import typer

import modelgit
from modelgit.cli import render
from modelgit.cli.base import (
    JsonOption,
    Reference,
    RepoOption,
    app,
    complete_reference,
    echo,
    examples,
    funnel,
    output,
    progress_wanted,
)
from modelgit.errors import InputError, RolloutFailedError


@app.command(
    epilog=examples(
        "modelgit manifest churn#production --strategy canary --out k8s/",
        "modelgit manifest churn@v1.3.0 --strategy kserve --validate",
    )
)
@funnel
def manifest(
    reference: Reference = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy",
            metavar="STRATEGY",
            help="bluegreen, canary, ab or kserve (default: deploy.strategy in .modelgit.yaml).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Directory inside the project to write into (default: print to stdout).",
        ),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            metavar="IMAGE",
            help="Serving container image (default: deploy.image in .modelgit.yaml, else "
            "<model>:latest).",
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            metavar="NS",
            help="Kubernetes namespace (default: deploy.namespace in .modelgit.yaml, else "
            "default).",
        ),
    ] = None,
    replicas: Annotated[
        int | None,
        typer.Option(
            "--replicas",
            metavar="N",
            help="Pods per version (default: deploy.replicas in .modelgit.yaml, else 1).",
        ),
    ] = None,
    weight: Annotated[
        int | None,
        typer.Option(
            "--weight", metavar="PERCENT", help="canary/kserve: percent of traffic to this version."
        ),
    ] = None,
    steps: Annotated[
        str | None,
        typer.Option(
            "--steps",
            metavar="W:PAUSE,...",
            help="canary (Argo): weight:pause steps (default: 10:5m,30:10m,60:10m).",
        ),
    ] = None,
    router: Annotated[
        str,
        typer.Option(
            "--router",
            metavar="ROUTER",
            help="canary: argo (Rollout) or istio (VirtualService) (default: argo, built-in).",
        ),
    ] = "argo",
    switch: Annotated[
        bool, typer.Option("--switch", help="bluegreen (plain): render only the Services.")
    ] = False,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            metavar="REF=W,...",
            help="ab: churn@v1.2.3=0.8,churn@v1.3.0=0.2 (sum to 1).",
        ),
    ] = None,
    stable: Annotated[
        str | None,
        typer.Option(
            "--stable",
            metavar="REF",
            help="canary/bluegreen: the live version (default: MODEL#production).",
        ),
    ] = None,
    service_account: Annotated[
        str | None,
        typer.Option(
            "--service-account",
            metavar="NAME",
            help="kserve: serviceAccountName, how pods get storage credentials "
            "(default: deploy.service_account in .modelgit.yaml).",
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--validate", help="Validate against Kubernetes schemas first.")
    ] = False,
    crd_schemas: Annotated[
        Path | None,
        typer.Option(
            "--crd-schemas",
            metavar="DIR",
            help="With --validate: CRD JSON schemas replacing the packaged ones (a directory).",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            metavar="ENGINE",
            help="bluegreen: argo (Rollout) or plain (two Deployments) (default: deploy.engine, "
            "else argo).",
        ),
    ] = None,
    traffic: Annotated[
        str | None,
        typer.Option(
            "--traffic",
            metavar="ROUTER",
            help="canary (Argo): istio or nginx traffic routing (default: deploy.traffic, else "
            "istio).",
        ),
    ] = None,
    analysis: Annotated[
        bool | None,
        typer.Option(
            "--analysis/--no-analysis",
            help="Prometheus AnalysisTemplate (default: on for canaries, off for blue-green).",
        ),
    ] = None,
    auto_promote: Annotated[
        bool,
        typer.Option("--auto-promote", help="bluegreen (Argo): promote once the preview is ready."),
    ] = False,
    storage_initializer: Annotated[
        str | None,
        typer.Option(
            "--storage-initializer",
            metavar="IMAGE",
            help="Image that downloads the model (default: deploy.storage_initializer, else "
            "KServe's).",
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Kubernetes YAML for a version: blue-green, canary (Argo or Istio), A/B, or KServe."""
    request = modelgit.ManifestRequest(
        reference=reference, strategy=strategy, out=out, image=image, namespace=namespace,
        replicas=replicas, weight=weight, steps=steps or (), router=router, switch=switch,
        weights=weights, stable=stable, validate=check, crd_schemas=crd_schemas,
        service_account=service_account,
        engine=engine, traffic=traffic, analysis=analysis, auto_promote=auto_promote,
        storage_initializer=storage_initializer,
    )  # fmt: skip
    result = modelgit.manifest(repo, request)
    if as_json:
        echo(render.to_json(result))
        return
    if out is None:
        echo("".join(result.files.values()))
    else:
        echo("".join(f"wrote {path}\n" for path in result.written))
    echo(render.manifest_checks(result), err=True)


@app.command(
    epilog=examples(
        "modelgit rollout churn@v1.3.0 --health-url http://churn/healthz",
        "modelgit rollout churn#staging --window 600 --interval 60 --health-cmd ./smoke.sh",
    )
)
@funnel
def rollout(
    reference: Annotated[
        str,
        typer.Argument(
            metavar="MODEL[@VERSION|#STAGE]",
            show_default=False,
            autocompletion=complete_reference,
            help="The version to roll out: churn@v1.3.0, churn#staging, or churn and VERSION.",
        ),
    ],
    version: Annotated[
        str | None,
        typer.Argument(
            metavar="[VERSION]", show_default=False, help="The version, when MODEL names none."
        ),
    ] = None,
    stage: Annotated[
        str,
        typer.Option(
            "--stage",
            metavar="STAGE",
            help="Stage to promote into (default: production, built-in).",
        ),
    ] = "production",
    health_url: Annotated[
        str | None,
        typer.Option("--health-url", metavar="URL", help="Must answer 2xx to count as healthy."),
    ] = None,
    health_cmd: Annotated[
        str | None,
        typer.Option("--health-cmd", metavar="CMD", help="Must exit 0 to count as healthy."),
    ] = None,
    window: Annotated[
        float,
        typer.Option(
            "--window", metavar="SECONDS", help="Seconds to watch (default: 300, built-in)."
        ),
    ] = 300,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            metavar="SECONDS",
            help="Seconds between checks (default: 30, built-in).",
        ),
    ] = 30,
    max_failures: Annotated[
        int,
        typer.Option(
            "--max-failures",
            metavar="N",
            help="Failed checks that trigger the rollback (default: 1, built-in).",
        ),
    ] = 1,
    on_failure: Annotated[
        str | None,
        typer.Option(
            "--on-failure", metavar="CMD", help="Command to run after a rollback (an alert)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote past the promotion order.")
    ] = False,
    push: Annotated[
        bool,
        typer.Option("--push", help="Push the stage tag (and a rollback tag) so CI deploys it."),
    ] = False,
    remote: Annotated[
        str,
        typer.Option("--remote", metavar="NAME", help="Git remote to push to (default: origin)."),
    ] = "origin",
    ready_cmd: Annotated[
        str | None,
        typer.Option(
            "--ready-cmd",
            metavar="CMD",
            help="Exits 0 once the new version serves; health checks start after it.",
        ),
    ] = None,
    expect_version: Annotated[
        bool,
        typer.Option(
            "--expect-version",
            help="Wait until --health-url names the version (X-Model-Version or JSON version).",
        ),
    ] = False,
    ready_timeout: Annotated[
        float,
        typer.Option(
            "--ready-timeout",
            metavar="SECONDS",
            help="Seconds to wait for the new version to serve (default: 600, built-in).",
        ),
    ] = 600,
    on_interrupt: Annotated[
        str,
        typer.Option(
            "--on-interrupt",
            metavar="WHAT",
            help="What Ctrl-C does: rollback or keep (default: rollback).",
        ),
    ] = "rollback",
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            metavar="ENGINE",
            help="argo: `kubectl argo rollouts status` is a health check too (default: plain).",
        ),
    ] = "plain",
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            metavar="NS",
            help="argo: the Rollout's namespace (default: deploy.namespace, else default).",
        ),
    ] = None,
    notify: Annotated[
        str | None,
        typer.Option(
            "--notify", metavar="URL", help="POST a JSON event (Slack-compatible) to this URL."
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Promote, wait until it serves, watch health for a window, roll back (exit 1) on failure."""
    model, version = _model_and_version(repo, reference, version)
    request = modelgit.RolloutRequest(
        model=model, version=version, health_url=health_url, health_cmd=health_cmd, stage=stage,
        window=window, interval=interval, max_failures=max_failures, on_failure=on_failure,
        force=force, push=push, remote=remote, ready_cmd=ready_cmd,
        expect_version=expect_version, ready_timeout=ready_timeout, on_interrupt=on_interrupt,
        engine=engine, namespace=namespace, notify=notify,
    )  # fmt: skip
    seen: list[modelgit.RolloutEvent] = []

    def show(event: modelgit.RolloutEvent) -> None:
        seen.append(event)
        checks = sum(str(e.kind) in ("healthy", "unhealthy") for e in seen)
        # With --json, stdout is the one JSON document: progress goes to stderr.
        echo(render.rollout_event(event, request, checks), err=as_json and not output.quiet)

    try:
        result = modelgit.rollout(repo, request, show)
    except KeyboardInterrupt:
        promoted = next((str(e.detail) for e in seen if str(e.kind) == "promoted"), None)
        restored = next((str(e.detail) for e in seen if str(e.kind) == "rolled-back"), None)
        echo(render.rollout_interrupted(request, promoted, restored) + "\n", err=True)
        raise
    if as_json:
        echo(render.to_json(result))
    if not result.succeeded and result.promoted is None:
        raise RolloutFailedError(
            f"{result.model} v{result.version} in {result.stage} is unhealthy; it already held "
            "the stage, so nothing was rolled back"
        )
    if not result.succeeded:
        raise RolloutFailedError(
            f"rollout of {result.model} v{result.version} to {result.stage} failed and was "
            f"rolled back ({result.rolled_back})"
        )
    if not as_json:
        done = f"{result.model} v{result.version} is in {result.stage}"
        if result.archived:
            done += f"; the version it replaced is archived ({result.archived})"
        echo(done + "\n")


def _model_and_version(repo: Path, reference: str, version: str | None) -> tuple[str, str]:
    """MODEL@VERSION, MODEL VERSION, or MODEL#STAGE (the version that stage holds)."""
    if "@" in reference:
        if version is not None:
            raise InputError(f"{reference} names a version already; drop {version}")
        model, _, named = reference.rpartition("@")
        return model, named
    if "#" in reference:
        held = modelgit.show(repo, reference)
        return held.model, held.version
    if version is None:
        raise InputError(f"name the version to roll out: {reference}@vX.Y.Z")
    return reference, version


@app.command(
    epilog=examples("modelgit publish churn@v1.3.0", "modelgit publish churn#production --json")
)
@funnel
def publish(
    reference: Reference = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Copy a version's bytes to <remote>/modelgit/<model>/<version>/ (md5-checked, write-once)."""
    with render.progress_bar(progress_wanted()) as progress:
        result = modelgit.publish(repo, reference, progress=progress)
    echo(render.published_json(result) if as_json else render.published(result))
