"""The gate language: parsing rules and evaluating them on a comparison. Pure, no git."""

from __future__ import annotations

import pytest

from modelgit.analysis.compare import ComparedSide, Comparison, MetricChange, Verdict
from modelgit.analysis.gates import check, evaluate, parse_rule
from modelgit.errors import GateRuleError
from modelgit.values import difference, relative_change


def metric(name, old, new, *, file="metrics.json", verdict=Verdict.CHANGED):
    """A MetricChange as `analysis.compare` makes one (its differences are noise-free)."""
    numbers = isinstance(old, (int, float)) and isinstance(new, (int, float))
    diff = difference(old, new) if numbers else None
    relative = relative_change(old, diff) if numbers else None
    return MetricChange(name, file, old, new, diff, relative, "higher", verdict)


def comparison(*metrics):
    side = ComparedSide("x", None, True)
    return Comparison("churn", side, side, tuple(metrics), (), (), (), (), ())


@pytest.mark.parametrize(
    ("text", "metric_name", "op", "threshold", "mode"),
    [
        ("accuracy<0.9", "accuracy", "<", 0.9, "value"),
        ("accuracy < -0.01", "accuracy", "<", -0.01, "change"),
        ("latency_ms>+10%", "latency_ms", ">", 0.1, "relative"),
        ("loss>=+1e-3", "loss", ">=", 0.001, "change"),
        ("metrics.json:f1<=.5", "metrics.json:f1", "<=", 0.5, "value"),
    ],
)
def test_rules_parse_into_metric_operator_threshold_and_mode(
    text, metric_name, op, threshold, mode
):
    rule = parse_rule(text)
    assert (rule.metric, rule.op, rule.mode) == (metric_name, op, mode)
    assert rule.threshold == pytest.approx(threshold)


def test_any_metric_worse_and_malformed_rules():
    assert parse_rule(" any-metric-worse ").metric is None
    with pytest.raises(GateRuleError, match=r"does not parse; write e\.g\."):
        parse_rule("accuracy drops")
    with pytest.raises(GateRuleError, match="a percentage needs a sign"):
        parse_rule("accuracy<10%")


def test_value_change_and_relative_rules_decide_on_their_numbers():
    acc = comparison(metric("accuracy", 0.80, 0.78, verdict=Verdict.WORSE))
    assert evaluate(parse_rule("accuracy<0.79"), acc).failed
    assert not evaluate(parse_rule("accuracy<0.7"), acc).failed
    drop = evaluate(parse_rule("accuracy<-0.01"), acc)
    assert drop.failed and drop.detail == "accuracy 0.8 -> 0.78 (-0.02)"
    assert not evaluate(parse_rule("accuracy<-0.05"), acc).failed
    relative = evaluate(parse_rule("accuracy<-2%"), acc)
    assert relative.failed and relative.detail == "accuracy 0.8 -> 0.78 (-2.50%)"
    assert not evaluate(parse_rule("accuracy<-5%"), acc).failed


def test_missing_non_numeric_and_incomparable_metrics():
    found = comparison(
        metric("status", "ok", "slow"),
        metric("added", None, 1.0, verdict=Verdict.ADDED),
        metric("zero", 0, 1.0),
    )
    assert evaluate(parse_rule("gone<1"), found).detail == "gone is missing on the new side"
    assert evaluate(parse_rule("gone<1"), found).failed
    assert evaluate(parse_rule("status<1"), found).failed  # not a number: fails closed
    assert not evaluate(parse_rule("added<-0.1"), found).failed  # nothing to compare with
    zero = evaluate(parse_rule("zero>+10%"), found)
    assert not zero.failed and zero.detail == "zero was 0: no relative change"


def test_a_file_qualified_name_and_any_metric_worse():
    found = comparison(
        metric("report.json:auc", 0.9, 0.8, file="report.json", verdict=Verdict.WORSE),
        metric("metrics.json:auc", 0.7, 0.75, verdict=Verdict.BETTER),
    )
    assert evaluate(parse_rule("report.json:auc<-0.05"), found).failed
    assert not evaluate(parse_rule("metrics.json:auc<-0.05"), found).failed
    better = comparison(metric("a", 1, 2, verdict=Verdict.BETTER))
    [worse, fine] = check([parse_rule("any-metric-worse")], [found, better])
    assert worse.failed and worse.detail == "report.json:auc 0.9 -> 0.8"
    assert not fine.failed and fine.detail == "no metric got worse"
