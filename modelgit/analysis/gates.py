"""CI gates over a comparison, in a small readable language.

    RULE    := "any-metric-worse" | METRIC OP VALUE
    OP      := "<" | "<=" | ">" | ">="
    VALUE   := NUMBER            the new value itself   (accuracy<0.9: fail below 0.9)
             | SIGN NUMBER       the absolute change    (accuracy<-0.01: fail on a drop over 0.01)
             | SIGN NUMBER "%"   the relative change    (latency_ms>+10%: fail on a rise over 10%)

A rule names the condition that fails the gate. METRIC is a metric's name as the comparison
shows it (`accuracy`, or `file:key` when two files share a key).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from modelgit.analysis.compare import Comparison, MetricChange
from modelgit.errors import GateRuleError
from modelgit.values import is_number

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


def evaluate(rule: Rule, comparison: Comparison) -> GateResult:
    """Whether `rule` fails on `comparison`, with the numbers that decided it."""
    model = comparison.model
    if rule.metric is None:
        worse = [m for m in comparison.metrics if m.verdict == "worse"]
        detail = ", ".join(f"{m.name} {m.old} -> {m.new}" for m in worse) or "no metric got worse"
        return GateResult(rule.text, model, bool(worse), detail)
    metric = _find(comparison, rule.metric)
    if metric is None or metric.new is None:
        return GateResult(rule.text, model, True, f"{rule.metric} is missing on the new side")
    if rule.mode == "value":
        if not is_number(metric.new):
            return GateResult(rule.text, model, True, f"{rule.metric} is not a number")
        failed = _OPS[rule.op](float(metric.new), rule.threshold)
        return GateResult(rule.text, model, failed, f"{rule.metric} = {metric.new}")
    if metric.diff is None:
        return GateResult(rule.text, model, False, f"{rule.metric} has nothing to compare with")
    if rule.mode == "change":
        failed = _OPS[rule.op](metric.diff, rule.threshold)
        detail = f"{rule.metric} {metric.old} -> {metric.new} ({metric.diff:+.6g})"
        return GateResult(rule.text, model, failed, detail)
    if metric.relative is None:
        return GateResult(rule.text, model, False, f"{rule.metric} was 0: no relative change")
    failed = _OPS[rule.op](metric.relative, rule.threshold)
    detail = f"{rule.metric} {metric.old} -> {metric.new} ({metric.relative:+.2%})"
    return GateResult(rule.text, model, failed, detail)


def check(rules: list[Rule], comparisons: list[Comparison]) -> list[GateResult]:
    """Every rule on every comparison."""
    return [evaluate(rule, c) for c in comparisons for rule in rules]
