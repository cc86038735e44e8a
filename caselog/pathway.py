"""A diagnostic block read from its diary: relief against the pain before, how long it lasted, and whether that
matches the anesthetic used (the comparative-block check).

Pure functions of the recorded values (caselog.records.BlockDetails): nothing here is stored, so a change of
the clinic's threshold re-reads every block. Relief at a diary time is (before - then) / before; the duration at
a threshold is the time of the last diary entry of the first unbroken run of entries at or above it, a lower
bound of the true duration (the diary is read at fixed times). docs/decisions.md works examples by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from caselog import vocab
from caselog.records import BlockDetails

Concordance = Literal["concordant", "shorter", "longer", "not_judged"]
CONCORDANCE_TEXT: dict[str, str] = {
    "concordant": "as long as the anesthetic lasts",
    "shorter": "shorter than the anesthetic lasts",
    "longer": "longer than the anesthetic lasts",
    "not_judged": "not judged (no usual duration for this anesthetic, or no diary)",
}


def relief_percent(before: int, pain: int) -> Fraction:
    """Relief from a pain score of `before` to `pain`, in percent, exact (negative when the pain is worse)."""
    return Fraction(100 * (before - pain), before)


def diary_relief(block: BlockDetails) -> list[tuple[str, Fraction]]:
    """Relief at each diary time, in the diary's order; empty without a diary or a pain score before."""
    if not block.diary or not block.pain_before:
        return []
    return [(e.time, relief_percent(block.pain_before, e.pain)) for e in block.diary]


def peak_relief(block: BlockDetails) -> Fraction | None:
    """The best relief in the diary, or None when it cannot be measured."""
    reliefs = diary_relief(block)
    return max(r for _, r in reliefs) if reliefs else None


def relief_minutes(block: BlockDetails, threshold_percent: int) -> int:
    """Minutes after the injection that relief stayed at or above the threshold: the diary time ending the first
    unbroken run of entries at or above it (0 when no entry reaches it)."""
    last = 0
    started = False
    for time, relief in diary_relief(block):
        if relief >= threshold_percent:
            started = True
            last = vocab.DIARY_MINUTES[time]
        elif started:
            break
    return last


def concordance(block: BlockDetails, threshold_percent: int) -> Concordance:
    """Whether relief at the threshold lasted as long as the anesthetic usually does (vocab.ANESTHETIC_HOURS)."""
    hours = vocab.ANESTHETIC_HOURS.get(block.anesthetic)
    if hours is None or not diary_relief(block):
        return "not_judged"
    minutes = relief_minutes(block, threshold_percent)
    shortest, longest = hours
    if minutes < shortest * 60:
        return "shorter"
    if minutes > longest * 60:
        return "longer"
    return "concordant"


@dataclass(frozen=True, slots=True)
class BlockReading:
    """A block's diary read against a threshold: what the form, the summary and the pathway show."""

    peak_relief: Fraction | None
    relief_minutes: int
    concordance: Concordance
    #: Peak relief at or above the threshold, lasting at least as long as the anesthetic's shortest usual
    #: duration (not required for an anesthetic without one). None when the diary cannot tell.
    positive: bool | None


def read_block(block: BlockDetails, threshold_percent: int) -> BlockReading:
    """Peak relief, duration, concordance and the result of a block under a relief threshold."""
    peak = peak_relief(block)
    minutes = relief_minutes(block, threshold_percent)
    agreement = concordance(block, threshold_percent)
    positive = None if peak is None else peak >= threshold_percent and agreement != "shorter"
    return BlockReading(peak, minutes, agreement, positive)


def percent_text(value: Fraction | None) -> str:
    """A relief as printed: whole percent, rounded half up (83.33 -> 83%)."""
    if value is None:
        return ""
    return f"{int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))}%"


def duration_text(minutes: int) -> str:
    """A relief duration as a reader says it: "45 min", "2 h", "18 h"."""
    if minutes < 60:
        return f"{minutes} min"
    hours = Fraction(minutes, 60)
    return f"{float(hours):g} h"
