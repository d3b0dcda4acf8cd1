"""CI gates over comparisons, in a small readable language.

    RULE    := "any-metric-worse" | [MODEL ":"] METRIC OP VALUE
    OP      := "<" | "<=" | ">" | ">="
    VALUE   := NUMBER            the new value itself   (accuracy<0.9: fail below 0.9)
             | SIGN NUMBER       the absolute change    (accuracy<-0.01: fail on a drop over 0.01)
             | SIGN NUMBER "%"   the relative change    (latency_ms>+10%: fail on a rise over 10%)

A rule names the condition that fails the gate. METRIC is a metric's name as the comparison
shows it (`accuracy`, or `file:key` when two files share a key, e.g. `eval/metrics.json:val.loss`).
A rule applies to every compared model that has the metric on either side; a leading MODEL
and `:` scope it to that model (`clf:eval/metrics.json:val.loss>0.5`). A prefix is a MODEL
only when it is a compared model's full name (which may hold `:` itself: `nlp:intent:f1<0.8`);
otherwise it is part of the metric's name. A rule that matches no compared model's metric is an
input error, with the nearest metric name.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from modelgit.analysis.compare import Comparison, MetricChange
from modelgit.errors import GateRuleError, UnknownMetricError
from modelgit.values import did_you_mean, format_number, format_value, is_number

_RULE = re.compile(
    r"^\s*(?P<metric>[^<>=\s]+)\s*(?P<op><=|>=|<|>)\s*"
    r"(?P<sign>[+-])?(?P<number>\d+(?:\.\d*)?|\.\d+)(?:[eE](?P<exp>[+-]?\d+))?\s*(?P<pct>%)?\s*$"
)
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
ANY_WORSE = "any-metric-worse"


@dataclass(frozen=True)
class Rule:
    """One parsed gate rule."""

    text: str
    metric: str | None  # None for any-metric-worse
    op: str = ""
    threshold: float = 0.0
    mode: str = "value"  # value | change | relative


@dataclass(frozen=True)
class GateResult:
    """A rule evaluated on one comparison."""

    rule: str
    model: str
    failed: bool
    detail: str


def parse_rule(text: str) -> Rule:
    """Parse one rule, or refuse it with the grammar in the message."""
    if text.strip() == ANY_WORSE:
        return Rule(text.strip(), None)
    match = _RULE.match(text)
    if match is None:
        raise GateRuleError(
            f"gate rule {text!r} does not parse; write e.g. `accuracy<-0.01` (absolute drop), "
            f"`latency_ms>+10%` (relative rise), `accuracy<0.9` (value) or `{ANY_WORSE}`"
        )
    number = float(match["number"] + (f"e{match['exp']}" if match["exp"] else ""))
    if match["sign"] == "-":
        number = -number
    if match["pct"] and not match["sign"]:
        raise GateRuleError(f"gate rule {text!r}: a percentage needs a sign, e.g. +10% or -5%")
    mode = "relative" if match["pct"] else "change" if match["sign"] else "value"
    threshold = number / 100 if match["pct"] else number
    return Rule(text.strip(), match["metric"], match["op"], threshold, mode)


def _find(comparison: Comparison, name: str) -> MetricChange | None:
    return next(
        (
            m
            for m in comparison.metrics
            if name in (m.name, f"{m.file}:{m.name.rsplit(':', 1)[-1]}")
        ),
        None,
    )


def _scope(rule: Rule, comparison: Comparison) -> str:
    """The metric name `rule` means in `comparison`.

    A prefix naming one of the compared models scopes the rule (the longest such name wins:
    model names may hold `:`); any other prefix is part of the metric's name.
    """
    metric = rule.metric or ""
    scoped = [m for m in comparison.models if metric.startswith(f"{m}:")]
    if scoped:
        return metric[len(max(scoped, key=len)) + 1 :]
    return metric


def evaluate(rule: Rule, comparison: Comparison) -> GateResult:
    """Whether `rule` fails on `comparison`, with the numbers that decided it."""
    model = comparison.model
    if rule.metric is None:
        worse = [m for m in comparison.metrics if m.verdict == "worse"]
        detail = ", ".join(
            f"{m.name} {format_value(m.old)} -> {format_value(m.new)}" for m in worse
        )
        return GateResult(rule.text, model, bool(worse), detail or "no metric got worse")
    name = _scope(rule, comparison)
    metric = _find(comparison, name)
    if metric is None or metric.new is None:
        return GateResult(rule.text, model, True, f"{name} is missing on the new side")
    old, new = format_value(metric.old), format_value(metric.new)
    if rule.mode == "value":
        if not is_number(metric.new):
            return GateResult(rule.text, model, True, f"{name} is not a number")
        failed = _OPS[rule.op](float(metric.new), rule.threshold)
        return GateResult(rule.text, model, failed, f"{name} = {new}")
    if metric.diff is None:
        return GateResult(rule.text, model, False, f"{name} has nothing to compare with")
    if rule.mode == "change":
        failed = _OPS[rule.op](metric.diff, rule.threshold)
        sign = "+" if metric.diff >= 0 else ""
        detail = f"{name} {old} -> {new} ({sign}{format_number(metric.diff)})"
        return GateResult(rule.text, model, failed, detail)
    if metric.relative is None:
        return GateResult(rule.text, model, False, f"{name} was 0: no relative change")
    failed = _OPS[rule.op](metric.relative, rule.threshold)
    detail = f"{name} {old} -> {new} ({metric.relative:+.2%})"
    return GateResult(rule.text, model, failed, detail)


def applies(rule: Rule, comparison: Comparison) -> bool:
    """True when `rule` concerns `comparison`: its model (if it names one) and a metric the
    comparison has on either side."""
    if rule.metric is None:
        return True
    return _find(comparison, _scope(rule, comparison)) is not None


def check(
    rules: list[Rule], comparisons: list[Comparison], known: list[Comparison] | None = None
) -> list[GateResult]:
    """Every rule on every comparison it applies to.

    A rule that applies to none of `known` (the comparisons it may name; by default the ones
    evaluated) is refused: a misspelt metric or model must not pass, or fail, silently.
    """
    known = comparisons if known is None else known
    for rule in rules:
        if rule.metric is not None and not any(applies(rule, c) for c in known):
            raise _unknown(rule, known)
    return [evaluate(rule, c) for c in comparisons for rule in rules if applies(rule, c)]


def _hint(name: str, names: list[str]) -> str:
    """` (did you mean accuracy?)`, else the metrics there are."""
    known = sorted(set(names))
    shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
    return did_you_mean(name, known) or (f" (metrics: {shown})" if known else "")


def _unknown(rule: Rule, known: list[Comparison]) -> UnknownMetricError:
    metric = rule.metric or ""
    models = sorted({m for c in known for m in c.models})
    names = [m.name for c in known for m in c.metrics]
    scoped = [m for m in models if metric.startswith(f"{m}:")]
    if scoped:
        model = max(scoped, key=len)
        name = metric[len(model) + 1 :]
        own = [m.name for c in known if model in c.models for m in c.metrics]
        return UnknownMetricError(
            f"gate {rule.text!r}: model {model} has no metric {name!r}{_hint(name, own)}"
        )
    head = metric.split(":", 1)[0]
    if ":" in metric and head not in {m.file for c in known for m in c.metrics}:
        compared = ", ".join(models) or "none"
        return UnknownMetricError(
            f"gate {rule.text!r} matches no compared model's metric: {head!r} is neither a "
            f"compared model (compared: {compared}) nor a metrics file{_hint(metric, names)}"
        )
    if not names:
        return UnknownMetricError(f"gate {rule.text!r}: no compared model has any metric")
    return UnknownMetricError(
        f"gate {rule.text!r}: no compared model has a metric {metric!r}{_hint(metric, names)}"
    )
