"""The indication check on the case form and in the detail pane: does an ablation meet the clinic's policy, and on
which blocks and dates does that rest. The check itself is caselog's (CaseService.indication_check); this module
words it and builds the record it reads while a case is still being typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from caselog import vocab
from caselog.pathway import Evidence, IndicationCheck, Joint, Pathway, joints_text, pathway_case
from caselog.records import CaseRecord
from caselog.validation import case_number_key, validate_case
from ui.style import Colours

#: What the check reads from the form; an edit of any of these checks again.
CHECK_KEYS = frozenset({"patient.mrn", "procedure_date", "procedure", "levels", "prior_block_relief_percent"})
#: Stand-ins for what the check does not read, so it can run before the rest of the case is typed. The record
#: built with them is only checked, never stored or shown.
_STAND_IN: dict[str, Any] = {
    "patient": {"family_name": "-", "given_name": "", "birth_date": "1970-01-01", "sex": "unknown"},
    "surgeon": "-",
    "duration_minutes": 1,
    "anesthesia": {"type": next(iter(vocab.ANESTHESIA_TYPES))},
    "disposition": next(iter(vocab.DISPOSITIONS)),
}
_READ = ("procedure_date", "procedure", "levels", "prior_block_relief_percent")


def record_to_check(data: Mapping[str, Any], today: Any) -> CaseRecord | None:
    """The case as the policy check reads it (MRN, date, procedure, levels, block relief recorded on it), or None
    while one of those is missing or wrong."""
    patient = data.get("patient")
    mrn = patient.get("mrn") if isinstance(patient, Mapping) else None
    probe: dict[str, Any] = {**_STAND_IN, "patient": {**_STAND_IN["patient"], "mrn": mrn}}
    day = data.get("procedure_date")
    if isinstance(day, str) and len(day) >= 4 and day[:4].isdigit():  # an adult on that day, whatever the year
        probe["patient"]["birth_date"] = f"{max(int(day[:4]) - 40, 1900)}-01-01"
    probe.update({key: data[key] for key in _READ if key in data})
    probe["levels"] = [
        {"level": lv.get("level"), "side": lv.get("side")} for lv in data.get("levels") or [] if isinstance(lv, Mapping)
    ]
    record, _ = validate_case(probe, today=today)
    return record


def _text(value: str) -> str:
    """Text typed or built from typed names, safe in rich text (quotes stay quotes: the label shows them)."""
    return escape(value, quote=False)


def _evidence_html(items: tuple[Evidence, ...]) -> str:
    return "".join(
        f"<li>{_text(e.case_number or 'this case')} ({e.date.isoformat()}): {_text(e.text)}</li>" for e in items
    )


def _where_text(wheres: list[str]) -> str:
    """ "L4-L5 left" and "L4-L5 right" as staff write them ("L4-L5 bilateral"); a region stays as it is."""
    joints = [tuple(w.rsplit(" ", 1)) for w in wheres]
    if all(len(j) == 2 and j[1] in ("left", "right") for j in joints):
        return joints_text((j[0], j[1]) for j in joints)
    return ", ".join(wheres)


def unmet_html(check: IndicationCheck) -> str:
    """Each unmet rule once with its evidence: a bilateral level's two joints that fail alike share one line."""
    grouped: dict[tuple[str, tuple[Evidence, ...]], list[str]] = {}
    for finding in check.unmet:
        prefix = f"{finding.where}: "
        rest = finding.text[len(prefix) :] if finding.text.startswith(prefix) else finding.text
        grouped.setdefault((rest, finding.evidence), []).append(finding.where)
    items = []
    for (rest, evidence), wheres in grouped.items():
        listed = f"<ul style='margin: 0'>{_evidence_html(evidence)}</ul>" if evidence else ""
        items.append(f"<li>{_text(_where_text(wheres))}: {_text(rest)}{listed}</li>")
    return f"<ul style='margin: 0'>{''.join(items)}</ul>"


def positive_blocks(check: IndicationCheck) -> list[Evidence]:
    """The positive blocks a met check rests on, each once, in time order."""
    found: dict[tuple[str | None, object], Evidence] = {}
    for finding in check.findings:
        if finding.rule == "blocks":
            for e in finding.evidence:
                if e.text.endswith(": positive") or e.case_number is None:
                    found.setdefault((e.case_number, e.date), e)
    return sorted(found.values(), key=lambda e: (e.date, case_number_key(e.case_number or "")))


def met_text(check: IndicationCheck) -> str:
    """ "Meets the clinic's policy (2 positive blocks: 2025-00012 on 2025-03-02, 2025-00020 on 2025-03-16)"."""
    blocks = positive_blocks(check)
    if blocks:
        listed = ", ".join(f"{e.case_number or 'this case'} on {e.date.isoformat()}" for e in blocks)
        plural = "s" if len(blocks) > 1 else ""
        return f"Meets the clinic's policy ({len(blocks)} positive block{plural}: {listed})"
    return "Meets the clinic's policy (" + "; ".join(f.text for f in check.findings) + ")"


def check_html(check: IndicationCheck, c: Colours) -> str:
    """The check as the form's strip and the detail pane show it: a quiet line when met, else a warning with each
    unmet rule and its evidence."""
    if not check.applies:
        return ""
    if check.meets:
        return f"<span style='color: {c.success}'>✓ {_text(met_text(check))}.</span>"
    return (
        f"<b style='color: {c.warning}'>⚠ Outside the clinic's policy.</b> Saving is possible; signing needs the "
        f"reason it was done.{unmet_html(check)}"
    )


ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def series_text(number: int, joints: tuple[Joint, ...]) -> str:
    """ "Second block at L4-L5 bilateral": a block's place in the patient's series at these joints."""
    word = ORDINALS[number - 1] if 0 < number <= len(ORDINALS) else f"{number}th"
    return f"{word.capitalize()} block at {joints_text(joints)}"


def block_series(pathway: Pathway | None, record: CaseRecord, case_number: str | None) -> str:
    """Where this block stands among the patient's blocks (1 + earlier blocks at any of its joints, as
    caselog.pathway counts them); a block not saved yet comes after the others of its day."""
    case = pathway_case(record, case_number)
    if pathway is not None and case_number is not None:
        for entry in pathway.cases:
            if entry.case.case_number == case_number and entry.series is not None:
                return series_text(entry.series, case.joints)
    joints = set(case.joints)
    earlier = [
        entry.case
        for entry in (pathway.cases if pathway is not None else ())
        if entry.case.is_block
        and entry.case.case_number != case_number
        and entry.case.order < case.order
        and joints & set(entry.case.joints)
    ]
    return series_text(1 + len(earlier), case.joints)
