"""The clinic's indication policy: when a first ablation is indicated, and when a repeat is.

One small set of numbers the clinic sets (administrators only, audited; stored as the clinic setting
"indication_policy"), with presets that follow published payer criteria. caselog.pathway applies it to a case
(check_indication); nothing computed from it is stored, so a change of policy re-reads every case.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from caselog.errors import CaselogError, InvalidInput
from caselog.validation import Problem

#: The clinic setting's name (caselog.clinic).
SETTING = "indication_policy"


@dataclass(frozen=True, slots=True)
class IndicationPolicy:
    """The clinic's selection and repeat rules for medial branch ablations (radiofrequency or endoscopic)."""

    #: Positive diagnostic blocks required at a joint before its first ablation (1 or 2).
    blocks_required: int = 2
    #: Relief (peak, from the block's diary) that makes a block positive, in percent.
    relief_threshold_percent: int = 80
    #: Whole months at least between an ablation and the next one at the same joint.
    repeat_min_interval_months: int = 6
    #: Relief the previous ablation must have given before a repeat, in percent ...
    repeat_relief_percent: int = 50
    #: ... recorded at a follow-up at least this many months after it.
    repeat_relief_months: int = 6
    #: Ablation sessions at most per spinal region in any rolling 12 months (the case itself included).
    max_sessions_per_12_months: int = 2


#: Each field's inclusive range, with what a person reads when a value falls outside it.
LIMITS: dict[str, tuple[int, int]] = {
    "blocks_required": (1, 2),
    "relief_threshold_percent": (1, 100),
    "repeat_min_interval_months": (0, 60),
    "repeat_relief_percent": (0, 100),
    "repeat_relief_months": (0, 60),
    "max_sessions_per_12_months": (1, 12),
}
LABELS: dict[str, str] = {
    "blocks_required": "Positive blocks before a first ablation",
    "relief_threshold_percent": "Relief that makes a block positive",
    "repeat_min_interval_months": "Months at least between ablations at a joint",
    "repeat_relief_percent": "Relief required from the previous ablation",
    "repeat_relief_months": "... lasting at least (months)",
    "max_sessions_per_12_months": "Ablation sessions per region in 12 months, at most",
}

#: `caselog policy set` names each field by an option.
OPTIONS: dict[str, str] = {
    "blocks_required": "--blocks",
    "relief_threshold_percent": "--threshold",
    "repeat_min_interval_months": "--repeat-interval-months",
    "repeat_relief_percent": "--repeat-relief",
    "repeat_relief_months": "--repeat-relief-months",
    "max_sessions_per_12_months": "--max-sessions",
}


@dataclass(frozen=True, slots=True)
class Preset:
    """A ready-made policy and, in words, where it comes from (shown wherever the clinic chooses one)."""

    label: str
    source: str
    policy: IndicationPolicy


PAYERS_NOTE = "Payers' criteria change and differ by plan: the clinic must confirm them with its payers."

PRESETS: dict[str, Preset] = {
    "medicare_lcd": Preset(
        label="Two blocks at 80% (Medicare LCD)",
        source=(
            "Medicare Local Coverage Determination 'Facet Joint Interventions for Pain Management' (L38803 and "
            "its companions, 2021): two medial branch blocks, each with at least 80% relief consistent with the "
            "anesthetic's duration, before a first radiofrequency ablation; a repeat at the same site only after "
            "at least 50% relief lasting at least 6 months; at most 2 ablation sessions per spinal region in a "
            "rolling 12 months. " + PAYERS_NOTE
        ),
        policy=IndicationPolicy(2, 80, 6, 50, 6, 2),
    ),
    "one_block_50": Preset(
        label="One block at 50% (some commercial payers)",
        source=(
            "Some commercial payers' medical policies accept one diagnostic medial branch block with at least "
            "50% relief before a first ablation; repeat and frequency limits here follow the Medicare LCD "
            "(6 months apart, at least 50% relief lasting 6 months, 2 sessions per region in 12 months). " + PAYERS_NOTE
        ),
        policy=IndicationPolicy(1, 50, 6, 50, 6, 2),
    ),
}
DEFAULT_PRESET = "medicare_lcd"


def default_policy() -> IndicationPolicy:
    """The policy of a clinic that never set one: the Medicare LCD preset (the strictest common criteria)."""
    return PRESETS[DEFAULT_PRESET].policy


def preset_of(policy: IndicationPolicy) -> str | None:
    """The key of the preset this policy is exactly, or None when the clinic adjusted it."""
    return next((key for key, preset in PRESETS.items() if preset.policy == policy), None)


def policy_to_json(policy: IndicationPolicy) -> dict[str, int]:
    """The policy as stored and exported: every field by name."""
    return {f.name: getattr(policy, f.name) for f in fields(policy)}


def policy_problems(obj: object, prefix: str = "") -> list[Problem]:
    """What is wrong with a policy object, each problem at its field's path (empty: valid)."""
    if not isinstance(obj, dict):
        return [Problem(prefix, "must be an object with the policy's fields")]
    problems: list[Problem] = []
    path = (lambda name: f"{prefix}.{name}") if prefix else (lambda name: name)
    for name in sorted(set(obj) - set(LIMITS)):
        problems.append(Problem(path(str(name)), "is not a field of the indication policy"))
    for name, (low, high) in LIMITS.items():
        if name not in obj:
            problems.append(Problem(path(name), "is missing"))
            continue
        value = obj[name]
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(Problem(path(name), f"must be a whole number, not {value!r}"))
        elif not low <= value <= high:
            problems.append(Problem(path(name), f"is {value}; must be from {low} to {high}"))
    return problems


def policy_from_json(obj: object) -> IndicationPolicy:
    """The policy from its stored form; InvalidInput naming each wrong field otherwise."""
    problems = policy_problems(obj)
    if problems:
        raise InvalidInput(problems)
    assert isinstance(obj, dict)
    values: dict[str, Any] = {name: obj[name] for name in LIMITS}
    return IndicationPolicy(**values)


def policy_from_setting(value: object | None) -> IndicationPolicy:
    """The policy from the clinic setting's stored value: the default when never set. A stored value that is not
    a valid policy (the database edited outside CaseLog) is refused, never replaced by the default silently."""
    if value is None:
        return default_policy()
    try:
        return policy_from_json(value)
    except InvalidInput as exc:
        raise CaselogError(
            f"The clinic's indication policy stored in the database is not valid ({exc.message}); an administrator "
            "sets it again ('caselog policy set --preset KEY')."
        ) from None
