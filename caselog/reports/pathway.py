"""The "patient pathway" PDF: the document a payer or a referring physician asks for before a repeat ablation.

The patient identified on every page as on the other reports, the clinic's policy in force with its source, a
timeline (a row per treated joint: blocks, ablations and their period of relief, complications), then every case
with its block result or indication check, and each ablation's check in detail with the evidence it rests on.
The parts the case summary shares (the policy in words, the table of findings) live here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from reportlab.platypus import Flowable, KeepTogether, Spacer

from caselog import vocab
from caselog.pathway import (
    CONCORDANCE_TEXT,
    CaseOnPathway,
    IndicationCheck,
    Pathway,
    PathwayEvent,
    duration_text,
    joints_text,
    percent_text,
)
from caselog.policy import PAYERS_NOTE, PRESETS, IndicationPolicy, preset_of
from caselog.records import CaseView
from caselog.reports.common import (
    ALERT,
    AMBER,
    BLANK,
    FONT_BOLD,
    INK,
    MUTED,
    OK_GREEN,
    ReportSettings,
    RunLines,
    column_widths,
    field_grid,
    fmt_date,
    frame_width,
    grid_table,
    para,
    plain,
    row_table,
    section,
    styles,
    text,
    wrap_lines,
)
from caselog.reports.page import Context, PageContext, render
from caselog.reports.rowtable import RowTable
from caselog.reports.timeline import Mark, MarkKind, Row, timelines

META_TITLE = "CaseLog patient pathway"
TITLE = "Patient pathway"


# ---- shared with the case summary -------------------------------------------------------------------------


def coloured(words: str, colour: Any) -> str:
    """Bold words in a colour, as Paragraph markup (`words` already escaped)."""
    return f'<font color="#{colour.hexval()[2:]}"><b>{words}</b></font>'


def policy_name(policy: IndicationPolicy) -> str:
    """The preset's name, or that the clinic adjusted the numbers."""
    key = preset_of(policy)
    return PRESETS[key].label if key is not None else "Set by the clinic (not one of the presets)"


def policy_source(policy: IndicationPolicy) -> str:
    """Where the policy's numbers come from, in words."""
    key = preset_of(policy)
    if key is not None:
        return PRESETS[key].source
    return "The clinic adjusted the numbers of a preset; it answers for them. " + PAYERS_NOTE


def policy_rules(policy: IndicationPolicy) -> str:
    """The policy's numbers in one sentence."""
    blocks = policy.blocks_required
    return (
        f"{blocks} positive block{'s' if blocks != 1 else ''} (at least {policy.relief_threshold_percent}% relief, "
        f"lasting as long as the anesthetic) at a joint before its first ablation; a repeat at least "
        f"{policy.repeat_min_interval_months} months after the last ablation there, which gave at least "
        f"{policy.repeat_relief_percent}% relief {policy.repeat_relief_months} months or more after it; at most "
        f"{policy.max_sessions_per_12_months} ablation sessions per region in 12 months."
    )


def verdict(check: IndicationCheck) -> str:
    """MEETS or OUTSIDE the clinic's policy, in colour (markup)."""
    if check.meets:
        return coloured("Meets the clinic's policy", OK_GREEN)
    return coloured("Outside the clinic's policy", ALERT)


def findings_table(check: IndicationCheck, width: float) -> RowTable:
    """Each rule of the policy applied at a joint or region: met or not, the finding, the cases it rests on.

    Plain pre-wrapped cells (a 40-case pathway has a hundred findings); nothing is cut short of 40 lines."""
    widths = column_widths(width, {0: 46.0}, {1: 0.5, 2: 0.5})
    room = [w - 6 for w in widths]
    rows: list[list[Any]] = []
    row_styles: dict[int, list[tuple[Any, ...]]] = {}
    for index, finding in enumerate(check.findings):
        evidence = [f"{e.case_number or 'This case'} ({fmt_date(e.date)}): {e.text}" for e in finding.evidence]
        rows.append(
            [
                "Met" if finding.met else "Not met",
                wrap_lines(finding.text, room[1], max_lines=40),
                _lines(evidence, room[2]),
            ]
        )
        row_styles[index] = _word_style(0, OK_GREEN if finding.met else ALERT)
    return row_table(["Result", "Finding", "Evidence (case, date)"], rows, widths, row_styles=row_styles)


def _lines(items: Sequence[str], width: float, max_lines: int = 40) -> str | RunLines:
    """Several texts in one cell, each starting on a line of its own."""
    if not items:
        return BLANK
    wrapped = [wrap_lines(item, width, max_lines=max_lines) for item in items]
    if all(isinstance(w, str) for w in wrapped):
        return "\n".join(str(w) for w in wrapped)
    return wrap_lines(" · ".join(items), width, max_lines=max_lines)  # a script that needs its own fonts


def _word_style(column: int, colour: Any) -> list[tuple[Any, ...]]:
    """Row style: one column's text bold in a colour (a result word)."""
    return [("TEXTCOLOR", (column, 0), (column, 0), colour), ("FONT", (column, 0), (column, 0), FONT_BOLD, 8, 10)]


def followed_blocks(pathway: Pathway, entry: CaseOnPathway) -> list[CaseOnPathway]:
    """The positive blocks an ablation follows: at its joints, after the last earlier ablation there."""
    case = entry.case
    found: list[CaseOnPathway] = []
    for other in pathway.cases:
        if not (other.case.is_block and other.reading is not None and other.reading.positive):
            continue
        if other.case.order >= case.order:
            continue
        shared = set(other.case.joints) & set(case.joints)
        if any(_after_last_ablation(pathway, other, case, joint) for joint in shared):
            found.append(other)
    return found


def _after_last_ablation(pathway: Pathway, block: CaseOnPathway, case: Any, joint: tuple[str, str]) -> bool:
    return not any(
        o.case.is_ablation and joint in o.case.joints and block.case.order < o.case.order < case.order
        for o in pathway.cases
    )


def block_line(entry: CaseOnPathway, threshold: int) -> str:
    """A block in one line of markup: number, date, joints, result, peak relief and duration at the threshold."""
    case = entry.case
    reading = entry.reading
    words = f"<b>{text(case.case_number or 'This case')}</b> ({fmt_date(case.date)}, {text(joints_text(case.joints))})"
    if reading is None or reading.positive is None:
        return words + ": not judged"
    result = coloured("positive", OK_GREEN) if reading.positive else coloured("negative", ALERT)
    return (
        f"{words}: {result}, {percent_text(reading.peak_relief)} peak relief, "
        f"{duration_text(reading.relief_minutes)} at {threshold}% or more"
    )


def entry_of(pathway: Pathway, case_number: str) -> CaseOnPathway | None:
    return next((e for e in pathway.cases if e.case.case_number == case_number), None)


# ---- the document -----------------------------------------------------------------------------------------


def write_patient_pathway(
    pathway: Pathway,
    output: Path,
    *,
    settings: ReportSettings,
    generated_at: dt.datetime | None = None,
) -> None:
    """Write the patient's pathway (CaseService.patient_pathway) as a PDF at `output`.

    Raises InvalidInput (exit 2) before any work when the output folder cannot take the file or the logo is
    unusable; the file appears complete or not at all. Recording the print in the audit trail is the caller's.
    """
    stamp = generated_at if generated_at is not None else dt.datetime.now().replace(microsecond=0)
    render(
        output,
        lambda: pathway_story(pathway, settings=settings, today=stamp.date()),
        settings=settings,
        generated_at=stamp,
        meta_title=META_TITLE,
    )


def pathway_story(pathway: Pathway, *, settings: ReportSettings, today: dt.date) -> list[Flowable]:
    patient = pathway.patient
    width = frame_width(settings)
    context = Context(
        group="pathway",
        title=TITLE,
        facility=settings.facility_name or "CaseLog",
        reference=f"{len(pathway.cases)} case{'s' if len(pathway.cases) != 1 else ''}",
        patient=patient.display_name,
        identifiers=(
            f"MRN {plain(patient.mrn)}  ·  born {fmt_date(patient.birth_date)} ({patient.age_on(today)} y)"
            f"  ·  {vocab.label(vocab.SEXES, patient.sex).lower()}"
        ),
        footer_label="Patient pathway",
    )
    story: list[Flowable] = [PageContext(context)]
    story += _policy_block(pathway.policy, width)
    story += _overview(pathway, width)
    if pathway.rows:
        story += [*section("Timeline by joint", room=140), *_timeline(pathway, width)]
    story += _cases_table(pathway, width)
    story += _checks_in_detail(pathway, width)
    story += _pairs_block(pathway, width)
    return story


def _policy_block(policy: IndicationPolicy, width: float) -> list[Flowable]:
    pairs = [
        ("*Policy", f"<b>{text(policy_name(policy))}</b>: {text(policy_rules(policy))}"),
        ("*Source", text(policy_source(policy))),
    ]
    return [*section("The clinic's policy in force"), field_grid(pairs, width)]


def _overview(pathway: Pathway, width: float) -> list[Flowable]:
    """Counts a reader checks first: the span, the blocks by result, the ablations by verdict."""
    cases = pathway.cases
    if not cases:
        return [*section("Overview", room=50), para("No cases recorded for this patient.", styles().body)]
    blocks = [e for e in cases if e.case.is_block]
    positive = sum(1 for e in blocks if e.reading is not None and e.reading.positive)
    negative = sum(1 for e in blocks if e.reading is not None and e.reading.positive is False)
    ablations = [e for e in cases if e.case.is_ablation]
    outside = [e for e in ablations if e.check.outside_policy]
    span = f"{fmt_date(cases[0].case.date)} to {fmt_date(cases[-1].case.date)}"
    joints = ", ".join(row.text for row in pathway.rows) or BLANK
    block_words = (
        f"{len(blocks)}: {positive} positive, {negative} negative, {len(blocks) - positive - negative} not judged"
    )
    ablation_words = f"{len(ablations)}: {len(ablations) - len(outside)} meet the policy"
    if outside:
        ablation_words += (
            ", "
            + coloured(f"{len(outside)} outside it", ALERT)
            + " ("
            + ", ".join(text(e.case.case_number) for e in outside)
            + ")"
        )
    pairs = [
        ("Cases", f"{len(cases)} from {span}"),
        ("Blocks", block_words),
        ("Other procedures", str(len(cases) - len(blocks) - len(ablations))),
        ("*Ablations", ablation_words),
        ("*Treated joints", text(joints)),
    ]
    return [*section("Overview"), field_grid(pairs, width)]


def _mark(event: PathwayEvent) -> Mark:
    """How the timeline draws one event of a joint's row (complications are drawn apart)."""
    if event.kind == "block":
        reading = event.reading
        kind: MarkKind = "block_unread"
        label = ""
        if reading is not None and reading.positive is not None:
            kind = "block_positive" if reading.positive else "block_negative"
            label = percent_text(reading.peak_relief)
        return Mark(event.date, kind, label)
    if event.kind == "ablation":
        kind = "ablation" if event.procedure == "radiofrequency_ablation" else "rhizotomy"
        label = f"{event.relief[-1][1]}%" if event.relief else ""
        return Mark(event.date, kind, label, event.relief_until, event.outside_policy)
    return Mark(event.date, "other", vocab.label(vocab.PROCEDURE_SHORT, event.procedure))


def timeline_rows(pathway: Pathway) -> list[Row]:
    """The pathway's joint rows as the timeline draws them."""
    return [
        Row(
            row.text,
            tuple(_mark(e) for e in row.events if e.kind != "complication"),
            tuple(e.date for e in row.events if e.kind == "complication"),
        )
        for row in pathway.rows
    ]


def _timeline(pathway: Pathway, width: float) -> list[Flowable]:
    note = para(
        "Labels: a block's peak relief; an ablation's latest relief at follow-up. An ablation's band runs to the "
        "next ablation at the joint or to its last follow-up.",
        styles().muted,
    )
    return [*timelines(timeline_rows(pathway), width), Spacer(1, 2), note]


def _result(pathway: Pathway, entry: CaseOnPathway) -> tuple[str, Any, str]:
    """(word, colour, detail) of a case in the table: a block's result with its numbers, an ablation's verdict
    with the rules not met and the reason recorded; a dash for other procedures."""
    case = entry.case
    threshold = pathway.policy.relief_threshold_percent
    if case.is_block:
        reading = entry.reading
        series = f"block {entry.series}" if entry.series else "block"
        anesthetic = vocab.label(vocab.BLOCK_ANESTHETICS, case.block.anesthetic).lower() if case.block else BLANK
        if reading is None or reading.positive is None:
            return "Not judged", MUTED, f"{series}, {anesthetic}: no diary or no pain score before"
        detail = (
            f"{series}, {anesthetic}: {percent_text(reading.peak_relief)} peak, "
            f"{duration_text(reading.relief_minutes)} at {threshold}%, {CONCORDANCE_TEXT[reading.concordance]}"
        )
        return ("Positive", OK_GREEN, detail) if reading.positive else ("Negative", ALERT, detail)
    if case.is_ablation:
        check = entry.check
        lines = [f.text for f in check.unmet]
        if case.outside_policy_reason:
            lines.append(f"Reason recorded: {case.outside_policy_reason}")
        elif check.outside_policy:
            lines.append("No reason recorded.")
        if check.meets:
            return "Meets", OK_GREEN, "\n".join(lines)
        return "Outside", ALERT, "\n".join(lines)
    return BLANK, INK, ""


def _cases_table(pathway: Pathway, width: float) -> list[Flowable]:
    """Every case in time order with its result; plain pre-wrapped cells, as the logs print (fast for 40 cases).
    A very long cell is cut at 24 lines: the checks in detail below print everything."""
    if not pathway.cases:
        return []
    widths = column_widths(width, {0: 56.0, 1: 60.0, 3: 56.0, 5: 80.0}, {2: 0.36, 4: 0.64})
    room = [w - 6 for w in widths]
    rows: list[list[Any]] = []
    row_styles: dict[int, list[tuple[Any, ...]]] = {}
    for index, entry in enumerate(pathway.cases):
        case = entry.case
        word, colour, detail = _result(pathway, entry)
        number = plain(case.case_number) + ("\nDraft" if case.status == "draft" else "")
        procedure = f"{vocab.label(vocab.PROCEDURE_SHORT, case.procedure)}\n{joints_text(case.joints) or BLANK}"
        rows.append(
            [
                fmt_date(case.date),
                number,
                _lines(procedure.split("\n"), room[2]),
                word,
                _lines(detail.split("\n"), room[4], max_lines=24) if detail else BLANK,
                wrap_lines(case.surgeon, room[5], max_lines=3),
            ]
        )
        row_styles[index] = [*_word_style(3, colour), ("FONT", (1, 0), (1, 0), FONT_BOLD, 8, 10)]
    header = ["Date", "Case", "Procedure, joints", "Result", "Block reading or indication check", "Surgeon"]
    return [*section(f"Cases ({len(rows)})", room=80), row_table(header, rows, widths, row_styles=row_styles)]


def _checks_in_detail(pathway: Pathway, width: float) -> list[Flowable]:
    """Each ablation's check with its evidence: what a payer reads before approving a repeat."""
    ablations = latest_ablations(pathway)
    if not ablations:
        return []
    threshold = pathway.policy.relief_threshold_percent
    story: list[Flowable] = []
    first = 0.0
    for entry in ablations:
        case = entry.case
        head = (
            f"<b>{text(case.case_number)}</b>  ·  {fmt_date(case.date)}  ·  "
            f"{text(vocab.label(vocab.PROCEDURE_SHORT, case.procedure))} at {text(joints_text(case.joints))}"
            f"  ·  {verdict(entry.check)}"
        )
        parts: list[Flowable] = [para(head, styles().body), Spacer(1, 2)]
        followed = followed_blocks(pathway, entry)
        if followed:
            lines = "; ".join(block_line(b, threshold) for b in followed)
            parts.append(para(f"<b>Follows:</b> {lines}", styles().cell))
            parts.append(Spacer(1, 2))
        parts.append(findings_table(entry.check, width))
        if case.outside_policy_reason or entry.check.outside_policy:
            reason = text(case.outside_policy_reason) if case.outside_policy_reason else coloured("none", AMBER)
            parts.append(para(f"<b>Reason recorded for doing it outside the policy:</b> {reason}", styles().cell))
        parts.append(Spacer(1, 8))
        if not story:
            first = sum(f.wrap(width, 10_000)[1] for f in parts)
        story.append(KeepTogether(parts))
    # The heading moves to the next page unless the first check fits under it (a page is ~650 points high).
    note = para(
        "The latest ablation at each joint, which a repeat there is judged against. Every ablation's verdict and the "
        "rules it did not meet are in the table of cases; each case summary prints its own check in full.",
        styles().muted,
    )
    _, note_h = note.wrap(width, 10_000)
    return [*section("Latest indication checks in detail", room=min(first, 560) + note_h + 30), note,
            Spacer(1, 4), *story]  # fmt: skip


def latest_ablations(pathway: Pathway) -> list[CaseOnPathway]:
    """The ablations with no later ablation at one of their joints, in time order."""
    ablations = [e for e in pathway.cases if e.case.is_ablation]
    return [
        e for e in ablations
        if any(not any(joint in o.case.joints and o.case.order > e.case.order for o in ablations)
               for joint in e.case.joints)
    ]  # fmt: skip


def _pairs_block(pathway: Pathway, width: float) -> list[Flowable]:
    """The comparative-block check: a short- and a long-acting block at the same joints."""
    if not pathway.pairs:
        return []
    threshold = pathway.policy.relief_threshold_percent
    rows: list[list[Any]] = []
    for pair in pathway.pairs:
        if pair.concordant is None:
            verdict_words = "not judged (a diary is missing)"
        elif pair.concordant:
            verdict_words = coloured("concordant", OK_GREEN) + ": the long-acting block's relief lasted longer"
        else:
            verdict_words = coloured("discordant", ALERT) + ": the long-acting block's relief did not last longer"
        rows.append(
            [
                para(text(joints_text(pair.joints))),
                para(f"{text(pair.short_acting.case_number)}: {duration_text(pair.short_minutes)}"),
                para(f"{text(pair.long_acting.case_number)}: {duration_text(pair.long_minutes)}"),
                para(verdict_words),
            ]
        )
    header = ["Joints", f"Short-acting (relief ≥{threshold}%)", f"Long-acting (relief ≥{threshold}%)", "Check"]
    widths = [110.0, 120.0, 120.0, width - 350.0]
    return [*section("Comparative blocks", room=80), grid_table(header, rows, widths)]


def pathways_for(views: Iterable[CaseView], patient_pathway: Callable[[str], Pathway]) -> list[Pathway]:
    """The pathway of each patient among `views`, read once per MRN with `patient_pathway` (the service's)."""
    return [patient_pathway(mrn) for mrn in dict.fromkeys(v.record.patient.mrn for v in views)]


def pathways_by_case(pathways: Iterable[Pathway]) -> dict[str, Pathway]:
    """Each case number of these pathways with the pathway it belongs to (for printing case summaries)."""
    return {e.case.case_number: p for p in pathways for e in p.cases if e.case.case_number is not None}
