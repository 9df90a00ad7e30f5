"""The answers a scorecard row can give, and the rules that turn an estimate into one.

A claim of the paper (or beyond it) is judged by where the 95% interval of its statistic lies, signed so that the
paper's side is positive, against zero (no effect) and the smallest effect that counts (`effect`, > 0):

    reproduced    the interval lies above zero (excludes no effect) and reaches the smallest effect that counts;
    differs       the interval lies below the smallest effect that counts (excludes the paper's effect: the effect,
                  if any, is smaller, or of the other sign);
    inconclusive  the interval covers both no effect and the paper's effect (too few runs, too much spread);
    not built     the table or its rows are missing; not comparable: built, but not measurable against the claim.

"Nothing changes" claims are equivalence tests against a margin: reproduced when the interval lies inside
(-margin, margin), differs when it lies wholly outside, inconclusive otherwise. An exact (closed-form) estimate is
compared with the bound directly. Identities and self-consistency checks are not claims: they hold or fail.
"""

from __future__ import annotations

from lbr.scorecard.stats import Estimate

REPRODUCED, DIFFERS, INCONCLUSIVE = "reproduced", "differs", "inconclusive"
NOT_COMPARABLE, NOT_BUILT = "not comparable", "not built"
HOLDS, FAILS = "holds", "fails"
CLAIM_STATUSES = (REPRODUCED, DIFFERS, INCONCLUSIVE, NOT_COMPARABLE, NOT_BUILT)
CHECK_STATUSES = (HOLDS, FAILS, NOT_BUILT)
STATUSES = CLAIM_STATUSES + (HOLDS, FAILS)

PAPER, CONSISTENCY, BEYOND = "paper", "consistency", "beyond"
KINDS = (PAPER, CONSISTENCY, BEYOND)
KIND_TITLES = {
    PAPER: "The paper's claims",
    CONSISTENCY: "Consistency checks (identities and self-checks: they fail only on a bug; never counted as "
    "reproductions)",
    BEYOND: "Beyond the paper (questions the paper motivates; not its claims)",
}


def directional(est: Estimate, effect: float) -> str:
    """The paper's effect is at least `effect` (> 0) on the positive side."""
    if effect <= 0:
        raise ValueError("the smallest effect that counts must be positive")
    if est.exact:
        return REPRODUCED if est.value >= effect else DIFFERS
    if not est.has_interval:
        return INCONCLUSIVE
    if est.hi < effect:
        return DIFFERS
    return REPRODUCED if est.lo > 0 else INCONCLUSIVE


def equivalence(est: Estimate, margin: float) -> str:
    """The paper's effect is no change: |statistic| < margin."""
    if est.exact:
        return REPRODUCED if abs(est.value) < margin else DIFFERS
    if not est.has_interval:
        return INCONCLUSIVE
    if -margin < est.lo and est.hi < margin:
        return REPRODUCED
    if est.lo >= margin or est.hi <= -margin:
        return DIFFERS
    return INCONCLUSIVE


def non_inferior(est: Estimate, margin: float) -> str:
    """The paper's effect is 'at least as good': the statistic is above -margin (reproduced when the interval lies
    above -margin, differs when it lies below it)."""
    if est.exact:
        return REPRODUCED if est.value > -margin else DIFFERS
    if not est.has_interval:
        return INCONCLUSIVE
    if est.lo > -margin:
        return REPRODUCED
    return DIFFERS if est.hi < -margin else INCONCLUSIVE


def at_most(value: float, bound: float) -> str:
    """An exact statistic the claim bounds from above (a share of D, a distance from a line)."""
    return REPRODUCED if value <= bound else DIFFERS


def all_of(statuses: list[str]) -> str:
    """A claim made for every case (every sigma, every dataset): one case that differs makes it differ; it is
    reproduced only when every case is."""
    if not statuses:
        return NOT_BUILT
    if DIFFERS in statuses:
        return DIFFERS
    if all(s == REPRODUCED for s in statuses):
        return REPRODUCED
    if all(s in (NOT_COMPARABLE, NOT_BUILT) for s in statuses):
        return NOT_COMPARABLE
    return INCONCLUSIVE


def agree(statuses: list[str]) -> str:
    """One claim read through several measures or preprocessings: its answer when they agree, inconclusive when
    they do not (the verdict would depend on a choice the paper does not justify)."""
    distinct = set(statuses)
    return distinct.pop() if len(distinct) == 1 else INCONCLUSIVE


def check(ok: bool) -> str:
    return HOLDS if ok else FAILS
