"""The case summary PDF that OR coordinators print for the chart and the referring physician.

One case or many, each starting on a new page with its own "Page X of Y"; the patient's name and
MRN head every page so a loose sheet can always be filed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import CondPageBreak, NotAtTopPageBreak

from caselog import fields, outcomes, pathway, vocab
from caselog.followup import FollowUpSchedule
from caselog.pathway import CaseOnPathway, IndicationCheck, Pathway
from caselog.records import BlockDetails, CaseRecord, CaseView, OutcomeScore
from caselog.reports.chart import ordered_outcomes, pain_chart
from caselog.reports.common import (
    ALERT,
    BLANK,
    FONT,
    FONT_BOLD,
    MUTED,
    OK_GREEN,
    ReportSettings,
    field_grid,
    fmt_date,
    fmt_datetime,
    fmt_duration,
    fmt_time,
    frame_width,
    grid_table,
    para,
    plain,
    section,
    styles,
    text,
)
from caselog.reports.page import Context, PageContext, render
from caselog.reports.pathway import (
    block_line,
    coloured,
    entry_of,
    followed_blocks,
    pathways_by_case,
    policy_name,
    verdict,
)
from caselog.reports.plan import WHEN_TO_CALL, next_follow_up, next_follow_up_text, standard_plan
from caselog.reports.spine import WIDTH as SPINE_WIDTH
from caselog.reports.spine import SpineFigure

META_TITLE = "CaseLog case summary"
TITLE = "Case summary"

#: Beyond this many levels the table goes above the drawing instead of beside it, so it can split across pages.
_LEVELS_BESIDE_DRAWING = 14

Progress = Callable[[int, int, str], None]

_FLUSH: list[tuple[Any, ...]] = [
    ("FONT", (0, 0), (-1, -1), FONT, 8, 10),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ("TOPPADDING", (0, 0), (-1, -1), 0),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
]


def is_draft(case: CaseView) -> bool:
    """Anything not signed (final) or amended after signing is a draft and must say so on paper."""
    return case.status not in ("final", "amended")


def badge_for(case: CaseView) -> str:
    if is_draft(case):
        return "DRAFT"
    return "AMENDED" if case.status == "amended" else "SIGNED"


def write_case_summaries(
    cases: Sequence[CaseView],
    output: Path,
    *,
    settings: ReportSettings,
    generated_at: dt.datetime | None = None,
    progress: Progress | None = None,
    pathways: Sequence[Pathway] = (),
    follow_up_schedule: FollowUpSchedule | None = None,
) -> None:
    """Write one summary per case into one PDF at `output`, each case starting on a new page.

    Raises InvalidInput (exit 2) before any work when the output folder is missing or not writable
    or the configured logo is unusable; the file appears complete or not at all.
    `progress(done, total, message)` is called as each case is laid out (for the desktop app's dialog).
    `pathways` (CaseService.patient_pathway of each patient printed) give each case's place in its patient's
    pathway under the clinic's policy: a block's result and series, an ablation's indication check. A case
    printed without its pathway shows neither (only the policy-free readings, and a reason recorded).
    The next follow-up printed follows `follow_up_schedule` (FollowUpService.schedule(); the default schedule when
    not given) as of the day printed, and ends with a later treatment of the patient in the pathway.
    """
    cases = list(cases)
    known = pathways_by_case(pathways)
    total = len(cases)
    today = (generated_at or dt.datetime.now()).date()

    def make_story() -> list[Flowable]:
        story: list[Flowable] = []
        for index, case in enumerate(cases):
            if index:
                story.append(NotAtTopPageBreak())  # never a blank page, even if a case ends exactly at a page end
            reached = None
            if progress is not None:
                reached = _reporter(progress, index, total, case.case_number)
            story.extend(case_story(case, settings=settings, group=f"{index}:{case.case_number}", on_reached=reached,
                                    on_pathway=known.get(case.case_number), today=today,
                                    follow_up_schedule=follow_up_schedule))  # fmt: skip
        if not cases:
            context = Context(group="empty", title=TITLE, facility=settings.facility_name or "CaseLog")
            story = [PageContext(context), para("No cases were selected for printing.", styles().notice)]
        return story

    render(output, make_story, settings=settings, generated_at=generated_at, meta_title=META_TITLE)
    if progress is not None:
        progress(total, total, "Case summaries written")


def _reporter(progress: Progress, index: int, total: int, case_number: str) -> Callable[[], None]:
    return lambda: progress(index, total, f"Case {case_number}")


def case_story(
    case: CaseView,
    *,
    settings: ReportSettings,
    group: str | None = None,
    on_reached: Callable[[], None] | None = None,
    on_pathway: Pathway | None = None,
    today: dt.date | None = None,
    follow_up_schedule: FollowUpSchedule | None = None,
) -> list[Flowable]:
    """The flowables of one case's summary, starting with the marker that sets its page header."""
    record = case.record
    patient = record.patient
    width = frame_width(settings)
    draft = is_draft(case)
    context = Context(
        group=group or case.case_number,
        title=TITLE,
        facility=settings.facility_name or record.facility or "CaseLog",
        reference=f"Case {case.case_number}",
        badge=badge_for(case),
        patient=patient.display_name,
        identifiers=(
            f"MRN {plain(patient.mrn)}  ·  born {fmt_date(patient.birth_date)}"
            f" ({patient.age_on(record.procedure_date)} y)  ·  {vocab.label(vocab.SEXES, patient.sex).lower()}"
            f"  ·  procedure {fmt_date(record.procedure_date)}"
        ),
        watermark="DRAFT" if draft else None,
        footer_label=f"Case {case.case_number}",
    )
    story: list[Flowable] = [PageContext(context, on_reached)]
    story += _address_lines(record)
    others = [] if on_pathway is None else [(e.case.date, e.case.procedure, e.case.levels) for e in on_pathway.cases
                                            if e.case.case_number != case.case_number]  # fmt: skip
    upcoming = next_follow_up(record, today or dt.date.today(), schedule=follow_up_schedule, others=others)
    story += _summary_block(record, width, next_follow_up_text(upcoming))
    story += _details_blocks(record, width)
    entry = entry_of(on_pathway, case.case_number) if on_pathway is not None else None
    story += _block_section(record, width, on_pathway, entry)
    story += _indication_section(record, width, on_pathway, entry)
    story += _results_section(record, width)
    signature = _signature_lines(case)
    story += _notes_block(record, width, signature)
    story.append(KeepTogether(signature))
    return story


def _address_lines(record: CaseRecord) -> list[Flowable]:
    """To whom the summary goes, as on a letter: the referring physician, then each copy recipient."""
    parts = []
    if record.referring_physician:
        parts.append(f"<b>Referring physician:</b> {text(record.referring_physician)}")
    if record.copy_to:
        parts.append(f"<b>Copy to:</b> {'; '.join(text(name) for name in record.copy_to)}")
    return [para("  ·  ".join(parts), styles().body)] if parts else []


def _summary_block(record: CaseRecord, width: float, upcoming: str) -> list[Flowable]:
    """What a referring physician reads first: what was done, how it went and what happens next.

    Who the patient is (name, MRN, birth date, age, sex) heads every page, so it is not repeated here."""
    procedure = f"<b>{text(record.procedure_label)}</b>"
    if record.procedure_detail:
        procedure += f" ({text(record.procedure_detail)})"
    procedure += f"  ·  {text(record.surgeon)}"  # the date is in the header on every page
    levels = ", ".join(f"{lv.level} {vocab.label(vocab.SIDES, lv.side).lower()}" for lv in record.levels)
    pairs = [
        ("*Procedure", procedure),
        ("*Levels and side", f"<b>{text(levels)}</b>" if levels else BLANK),
        ("*Result", _result(record)),
        ("*Plan", _plan(record, upcoming)),
    ]
    return [*section("Summary"), field_grid(pairs, width)]


def _result(record: CaseRecord) -> str:
    """Complications in one line, then the latest pain scores against baseline."""
    if record.complications:
        events = "; ".join(
            f"{text(vocab.label(vocab.COMPLICATION_CATEGORIES, c.category))} (Clavien-Dindo {text(c.clavien_dindo)}, "
            + (f"resolved {fmt_date(c.resolved_date)})" if c.resolved_date else "not yet resolved)")
            for c in record.complications
        )
        result = f'<font color="#{ALERT.hexval()[2:]}"><b>Complications:</b></font> {events}.'
    else:
        result = "<b>No complications recorded.</b>"
    scored = [o for o in ordered_outcomes(record.outcomes) if o.timepoint != "baseline"]
    if not scored:
        return result + " No follow-up scores yet."
    latest = scored[-1]
    baseline = next((o for o in record.outcomes if o.timepoint == "baseline"), None)
    parts = []
    shown = outcomes.scores_held(record.levels, record.outcomes)
    # pain first, then the disability index, as a referring physician reads them
    for measure in sorted(shown, key=lambda m: not m.startswith("nrs")):
        now, before = getattr(latest, measure), getattr(baseline, measure) if baseline else None
        if now is not None:
            label = _RESULT_NAMES.get(measure) or outcomes.measure_label(measure)
            parts.append(f"{label} {now}" + (f" (baseline {before})" if before is not None else ""))
    if latest.relief_percent is not None:
        parts.append(f"relief {latest.relief_percent}%")
    if latest.pgic is not None:
        parts.append(f"PGIC {text(outcomes.pgic_text(latest.pgic))}")
    answers = _answers(latest)
    if answers:
        parts.append(text(answers))
    when = f"{vocab.label(vocab.TIMEPOINTS, latest.timepoint)} ({fmt_date(latest.date)})"
    return result + f" At {when}: " + (", ".join(parts) or "no scores") + "."


_RESULT_NAMES = {"nrs_back": "back pain", "nrs_leg": "leg pain", "nrs_neck": "neck pain", "nrs_arm": "arm pain"}


def _plan(record: CaseRecord, upcoming: str) -> str:
    """Disposition, the standard instructions for the procedure (labelled as such), the next follow-up owed
    (`upcoming`, plan.next_follow_up_text), when to call."""
    disposition = f"<b>{text(vocab.label(vocab.DISPOSITIONS, record.disposition))}.</b>"
    standard = standard_plan(record.procedure)
    if standard is None:
        body = "No standard instructions for this procedure; see the notes."
    else:
        body = (
            f"<i>Standard instructions for this procedure, not an individual plan:</i> {text(standard.expect)} "
            f"{text(standard.restrictions)} {text(standard.follow_up)}"
        )
    due = f" {text(upcoming)}" if upcoming else ""
    return f"{disposition} {body}{due} {text(WHEN_TO_CALL)}"


def _details_blocks(record: CaseRecord, width: float) -> list[Flowable]:
    """The detail behind the summary, in a column beside the spine drawing so the drawing fills no page alone.

    The pair cannot split across pages, so with very many levels the blocks are stacked instead.
    """
    drawing = SpineFigure(record.levels)
    title = f"Procedure details and levels ({len(record.levels)})"
    if len(record.levels) > _LEVELS_BESIDE_DRAWING:
        return [
            *section(title),
            field_grid(_detail_pairs(record), width),
            Spacer(1, 6),
            _levels_table(record, width),
            Spacer(1, 8),
            drawing,
        ]
    left_w = width - SPINE_WIDTH - 14
    left: list[Flowable] = [
        field_grid(_detail_pairs(record), left_w, columns=1),
        Spacer(1, 6),
        _levels_table(record, left_w),
    ]
    pair = Table([[left, drawing]], colWidths=[left_w + 14, SPINE_WIDTH], hAlign="LEFT")
    pair.setStyle(TableStyle(_FLUSH))
    _, needed = pair.wrap(width, 10_000)
    return [*section(title, room=needed + 30), pair]


#: Fields the summary prints in a place of their own: the page header (date), the summary block (procedure,
#: detail, surgeon; disposition in the plan), the address lines (referral) and one line of codes.
_PRINTED_ELSEWHERE = frozenset(
    {"procedure_date", "procedure", "procedure_detail", "surgeon", "disposition", "referring_physician", "copy_to",
     "cpt_codes", "diagnosis_codes"}
)  # fmt: skip


def _shown(record: CaseRecord, group: str) -> list[tuple[str, str]]:
    """The table's fields of this group with their label and unit, a dash where nothing was recorded. A format
    extension not recorded is left out: a clinic that does not log it gets no empty line on every summary; nor does
    a block get an empty "Prior block relief" (its own relief is in its diary)."""
    pairs = []
    for f in fields.FIELDS:
        value = getattr(record, f.key)
        unused = f.extension or (f.key == "prior_block_relief_percent" and record.procedure == "medial_branch_block")
        if f.shown == group and f.key not in _PRINTED_ELSEWHERE and not (unused and fields.is_empty(value)):
            pairs.append((f.label, text(fields.display(f, value)) or BLANK))
    return pairs


def _detail_pairs(record: CaseRecord) -> list[tuple[str, str]]:
    codes = f"CPT {text(', '.join(record.cpt_codes))}  ·  ICD-10 {text(', '.join(record.diagnosis_codes))}"
    return [*_shown(record, "procedure"), ("Codes", codes), *_timing_pairs(record)]


def _levels_table(record: CaseRecord, width: float) -> Table:
    st = styles()
    facet = record.procedure in vocab.FACET_NERVE_PROCEDURES
    rows: list[list[Any]] = []
    for lv in record.levels:
        row: list[Any] = [para(f"<b>{text(lv.level)}</b>", st.cell), para(text(vocab.label(vocab.SIDES, lv.side)))]
        if facet:
            row.append(para(text(", ".join(vocab.nerves_targeted(lv.level)))))
        else:
            row.append(para(text(vocab.region_of(lv.level).capitalize()) if lv.level in vocab.LEVEL_INDEX else BLANK))
        rows.append(row)
    header = ["Level", "Side", "Nerves targeted" if facet else "Region"]
    widths = [58.0, 62.0, width - 120.0]
    if any(lv.volume_ml is not None for lv in record.levels):  # a diagnostic block's volume at each level
        for row, lv in zip(rows, record.levels, strict=True):
            row.append(f"{lv.volume_ml:g} mL" if lv.volume_ml is not None else BLANK)
        header.append("Volume")
        widths = [58.0, 62.0, width - 170.0, 50.0]
    return grid_table(header, rows, widths, numeric=(3,) if len(header) == 4 else ())


def _timing_pairs(record: CaseRecord) -> list[tuple[str, str]]:
    a = record.anesthesia
    anesthesia = text(vocab.label(vocab.ANESTHESIA_TYPES, a.type))
    if a.sedation:
        anesthesia += f" ({text(vocab.label(vocab.SEDATION_LEVELS, a.sedation).lower())} sedation)"
    asa = BLANK
    if a.asa_class:
        asa = f"<b>{text(a.asa_text)}</b> — {text(vocab.label(vocab.ASA_CLASSES, a.asa_class))}"
        if a.emergency:
            asa += " (emergency)"
    return [
        (
            "Time",
            f"{fmt_datetime(record.start_time)} to {fmt_time(record.end_time)} "
            f"({fmt_duration(record.duration_minutes)})",
        ),
        ("Anesthesia", anesthesia),
        ("ASA class", asa),
        ("Anesthesia provider", text(a.provider)),
        *_shown(record, "course"),
    ]


#: The heading over the complications and the outcome scores: both say how the case went.
RESULTS_TITLE = "Complications and outcomes"


def _results_section(record: CaseRecord, width: float) -> list[Flowable]:
    """The complications (a table, or that there were none), then the outcome scores, under one heading: two
    headings cost a block's summary its one page. The outcome table keeps its header row when it moves to a page
    of its own."""
    st = styles()
    if not record.complications and not record.outcomes:
        nothing = para("No complications recorded. No outcome scores recorded.", st.body)
        return [*section(RESULTS_TITLE, room=50), nothing, *_attempts(record)]
    if not record.complications:  # said on the heading's line, not on a line of its own above the scores
        scores, height = _outcomes_block(record, width)
        return [*_heading_with_facts(RESULTS_TITLE, "No complications recorded.", width, room=min(height, 400) + 30),
                *scores]  # fmt: skip
    table, first = _complications_table(record, width)
    # Keep the heading with the header row and the first complication, however tall that row is.
    story = [*section(RESULTS_TITLE, room=first + 30), table, Spacer(1, 6)]
    if not record.outcomes:
        return [*story, para("No outcome scores recorded.", st.body), *_attempts(record)]
    scores, height = _outcomes_block(record, width)
    return [*story, CondPageBreak(min(height, 400)), *scores]


def _complications_table(record: CaseRecord, width: float) -> tuple[Table, float]:
    """The complications, one a row, and how tall the header row and the first complication print."""
    rows: list[list[Any]] = []
    for c in record.complications:
        category = f"<b>{text(vocab.label(vocab.COMPLICATION_CATEGORIES, c.category))}</b>"
        if c.description:
            category += f"<br/>{text(c.description)}"
        rows.append(
            [
                para(category),
                para(text(vocab.label(vocab.COMPLICATION_TIMINGS, c.timing))),
                fmt_date(c.onset_date),
                para(f"<b>{text(c.clavien_dindo)}</b>"),
                para(text(c.treatment)),
                fmt_date(c.resolved_date) if c.resolved_date else "Not yet",
            ]
        )
    header = ["Complication", "Timing", "Onset", "Clavien-Dindo", "Treatment", "Resolved"]
    fixed = [142.0, 56.0, 70.0, 56.0]  # one line each for a timing ("Postoperative (within 30 days)") and a grade
    rest = width - sum(fixed)
    widths = [rest * 0.52, fixed[0], fixed[1], fixed[2], rest * 0.48, fixed[3]]
    _, first = grid_table(header, rows[:1], widths).wrap(width, 10_000)
    return grid_table(header, rows, widths), first


#: Column heads of the scores in the summary's outcome table (pain: NRS 0-10, as the chart and legend say).
_SCORE_HEADS = {"nrs_back": "Back", "nrs_leg": "Leg", "nrs_neck": "Neck", "nrs_arm": "Arm", "odi": "ODI", "ndi": "NDI"}


def _outcomes_block(record: CaseRecord, width: float) -> tuple[list[Flowable], float]:
    """The region's scores (and any other held) with relief, PGIC and the measures that reached MCID against the
    baseline, the pain chart beside them; the MCID note and the follow-up attempts under the table (beside it, in
    the chart's place, when there is no chart). Returns the flowables and how tall they print."""
    st = styles()

    def score(value: int | None, suffix: str = "") -> str:
        return f"{value}{suffix}" if value is not None else BLANK

    scores = outcomes.scores_held(record.levels, record.outcomes)
    flags = outcomes.case_mcid(record.levels, record.outcomes)
    pgic = any(o.pgic is not None for o in record.outcomes)
    ordered = ordered_outcomes(record.outcomes)
    rows = []
    for o in ordered:
        flag = flags.get(o.timepoint)
        rows.append(
            [
                vocab.label(vocab.TIMEPOINTS, o.timepoint),
                fmt_date(o.date),
                *(score(getattr(o, m)) for m in scores),
                score(o.relief_percent, "%"),
                *([score(o.pgic)] if pgic else []),
                para(text(_reached(flag)), st.cell),
            ]
        )
    header = ["Timepoint", "Date", *(_SCORE_HEADS[m] for m in scores), "Relief", *(["PGIC"] if pgic else []), "MCID"]
    narrow = [30.0] * len(scores) + [34.0] + [30.0] * pgic
    table_w = max(330.0, 52 + 56 + sum(narrow) + 96)
    side_w = width - table_w - 16
    chart = pain_chart(record.levels, record.outcomes, width=side_w, height=84) if side_w >= _SIDE_MIN_W else None
    widths = [52.0, 56.0, *narrow, table_w - 108 - sum(narrow)]
    compact = [("TOPPADDING", (0, 1), (-1, -1), 1), ("BOTTOMPADDING", (0, 1), (-1, -1), 1.5)]
    table = grid_table(header, rows, widths, numeric=tuple(range(2, 2 + len(narrow))), extra=compact)
    note = [Spacer(1, 2), para(text(MCID_NOTE), st.muted)] if any(map(_reached, flags.values())) else []
    # The latest follow-up's answers are in the summary's result; the attempts go under the table.
    under = [Spacer(1, 2), *_attempts(record)] if record.follow_up_attempts else []
    if chart is not None:  # the note and the attempts under the table, beside the chart (taller than a few rows)
        left, right = [table, *note, *under], [chart]
    elif side_w >= _SIDE_MIN_W and (note or under):
        # no chart: the lines under the table go in its place beside the table, a few lines tall
        left, right = [table], [*note, *under]
        right = right[1:] if isinstance(right[0], Spacer) else right
    else:
        stacked = [table, *note, *under]
        return stacked, _height(stacked, width)
    pair = Table([[left, right]], colWidths=[table_w + 16, side_w], hAlign="LEFT")
    pair.setStyle(TableStyle(_FLUSH))
    return [pair], pair.wrap(width, 10_000)[1]


#: Beside the outcome table, the chart or the lines that go with the table need at least this width.
_SIDE_MIN_W = 134.0


#: Under the outcome table: what its MCID column lists.
MCID_NOTE = "MCID, better than baseline by: ODI or NDI 10 points, pain 2 points or 30%, PGIC 1-2."


def _reached(flags: outcomes.MCIDFlags | None) -> str:
    """The MCID column: "Back, Leg, PGIC", "none", or blank when nothing could be judged."""
    if flags is None or not flags.measurable:
        return ""
    return ", ".join(_SCORE_HEADS.get(m, "PGIC") for m, hit in flags.flags if hit) or "none"


#: The follow-up's answers in the fewest words a reader still understands.
_WORK_SHORT = {"working": "working", "off_work_pain": "off work (pain)", "not_working_other": "not working (other)",
               "retired": "retired"}  # fmt: skip
_ANALGESICS_SHORT = {"none": "no pain medication", "non_opioid": "non-opioid", "opioid": "opioid"}


def _answers(o: OutcomeScore) -> str:
    """ "working, non-opioid, back to activities 2025-05-02, PT": one follow-up's answers, short."""
    parts = [
        _WORK_SHORT.get(o.work_status or "", o.work_status or ""),
        _ANALGESICS_SHORT.get(o.analgesics or "", o.analgesics or ""),
        f"back to activities {fmt_date(o.returned_to_activities)}" if o.returned_to_activities else "",
        {True: "PT prescribed", False: "no PT", None: ""}[o.physical_therapy],
    ]
    return ", ".join(p for p in parts if p)


def _attempts(record: CaseRecord) -> list[Flowable]:
    """The follow-up attempts in one line: "Follow-up attempts: 2025-09-20 (6 months) could not reach; …"."""
    if not record.follow_up_attempts:
        return []
    items = "; ".join(
        f"{fmt_date(a.date)} ({text(vocab.label(vocab.TIMEPOINTS, a.timepoint))}) "
        f"{text(vocab.label(vocab.FOLLOW_UP_RESULTS, a.result).lower())}" + (f": {text(a.note)}" if a.note else "")
        for a in sorted(record.follow_up_attempts, key=lambda a: a.date)
    )
    return [para(f"<b>Follow-up attempts:</b> {items}.", styles().body)]


#: Notes up to this many lines print as one labelled paragraph over the signature, without a heading of their own
#: (the heading's line cost a typical ablation with four follow-ups its one page); longer ones get their section.
_SHORT_NOTES_LINES = 3


def _notes_block(record: CaseRecord, width: float, signature: list[Flowable]) -> list[Flowable]:
    """The notes, when there are any (an empty "Notes" heading only pushed the signature to a page of its own).

    Short notes start on the page that has room for them and the signature under them, so the signature
    never stands alone on a page; long notes flow as they must.
    """
    if not record.notes:
        return []
    st = styles()
    labelled = para(f"<b>Notes:</b> {text(record.notes)}", st.body)
    if _height([labelled], width) <= _SHORT_NOTES_LINES * st.body.leading + 0.5:
        return [CondPageBreak(_height([labelled, *signature], width) + 6), Spacer(1, 6), labelled]
    body = para(text(record.notes), st.body)
    heading = section("Notes")[1:]  # the heading and its rule, measured as they will be drawn
    needed = _height([*heading, body, *signature], width)
    return [*section("Notes", room=min(needed, 260)), body]


def _signature_lines(case: CaseView) -> list[Flowable]:
    st = styles()
    parts: list[Flowable] = [Spacer(1, 2)]
    if case.signed_by and case.signed_at:
        line = f"<b>Signed:</b> {text(case.signed_by)}  ·  {fmt_datetime(case.signed_at)}"
    elif case.signed_by:
        line = f"<b>Signed:</b> {text(case.signed_by)}  ·  Date/time: ______________________"
    else:
        line = "<b>Signed:</b> ________________________________    Date/time: ______________________"
    parts.append(para(line, st.body))
    if case.status == "amended":
        parts.append(para("Amended after signing; the audit trail holds each change and its reason.", st.muted))
    elif is_draft(case):
        parts.append(
            para(f'<font color="#{ALERT.hexval()[2:]}">Draft: not signed, contents may still change.</font>', st.muted)
        )
    return parts


def _block_section(
    record: CaseRecord, width: float, on_pathway: Pathway | None, entry: CaseOnPathway | None
) -> list[Flowable]:
    """A diagnostic block read from its diary, compact: what was injected, the diary in one table (the pain
    before, then the times across), and its read-out in one line: peak relief, and under the clinic's policy how
    long relief stayed at the threshold, its concordance with the anesthetic and the result."""
    if record.procedure != "medial_branch_block":
        return []
    block = record.block
    if block is None:
        unread = "No anesthetic or pain diary recorded: the block's result cannot be read."
        return [*section("Diagnostic block", room=50), para(unread, styles().body)]
    threshold = on_pathway.policy.relief_threshold_percent if on_pathway is not None else None
    series = entry.series if entry is not None else None
    parts: list[Flowable] = [
        _diary_table(block, threshold, width),
        Spacer(1, 2),
        para(_read_out(block, threshold, series), styles().body),
    ]
    return _heading_with_facts("Diagnostic block", _block_facts(block), width, room=_height(parts, width) + 30) + parts


def _heading_with_facts(title: str, facts: str, width: float, *, room: float) -> list[Flowable]:
    """A section heading with a line of facts on its right, above the same rule: the facts take no line of their
    own (a block's summary then fits one page). Facts too long for the line wrap under each other, right-aligned."""
    pagebreak, head, rule = section(title, room=room)
    title_w = stringWidth(title, FONT_BOLD, styles().heading.fontSize) + 16
    row = Table([[head, para(facts, _facts_style())]], colWidths=[title_w, width - title_w], hAlign="LEFT")
    row.setStyle(TableStyle([*_FLUSH, ("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                             ("TOPPADDING", (0, 0), (-1, -1), styles().heading.spaceBefore)]))  # fmt: skip
    return [pagebreak, row, rule]


@cache
def _facts_style() -> ParagraphStyle:
    return ParagraphStyle("heading_facts", parent=styles().body, alignment=TA_RIGHT)


def _height(flowables: Sequence[Flowable], width: float) -> float:
    """How tall these flowables print, one under the other."""
    return float(sum(f.wrap(width, 10_000)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in flowables))


def _block_facts(block: BlockDetails) -> str:
    """What was injected and what the patient could do: "<b>Anesthetic</b> Lidocaine  ·  <b>Activities</b> Yes"."""
    anesthetic = text(vocab.label(vocab.BLOCK_ANESTHETICS, block.anesthetic))
    if block.anesthetic_detail:
        anesthetic += f" ({text(block.anesthetic_detail)})"
    activities = {True: "Yes: could do what usually hurts", False: "No", None: BLANK}[block.activities_possible]
    return f"{_fact('Anesthetic')} {anesthetic} &nbsp;·&nbsp; {_fact('Activities')} {activities}"


def _fact(label: str) -> str:
    return f'<font name="{FONT_BOLD}" color="#{MUTED.hexval()[2:]}">{label}</font>'


def _read_out(block: BlockDetails, threshold: int | None, series: int | None) -> str:
    """The block's reading in one line (two at most): peak relief, how long relief stayed at the clinic's
    threshold against how long the anesthetic usually relieves, the result and the block's number in its
    series. Printed without the pathway (no threshold) only what needs no policy."""
    hours = vocab.ANESTHETIC_HOURS.get(block.anesthetic)
    usual = ""
    if hours is not None:
        usual = f"{text(vocab.label(vocab.BLOCK_ANESTHETICS, block.anesthetic).lower())} usually relieves "
        usual += f"{hours[0]:g}–{hours[1]:g} h"
    peak = pathway.peak_relief(block)
    if peak is None:
        return "<b>Not judged</b>: no diary, or no pain score before the block" + (f"; {usual}." if usual else ".")
    words = f"<b>Peak relief {pathway.percent_text(peak)}</b>"
    if threshold is None:
        return words + (f"; {usual}" if usual else "")
    reading = pathway.read_block(block, threshold)
    words += f", relief ≥{threshold}% lasted {pathway.duration_text(reading.relief_minutes)}, "
    words += text(pathway.CONCORDANCE_TEXT[reading.concordance]) + (f" ({usual})" if usual else "")
    words += f": {_block_result(reading, threshold)}"
    return words + (f"  ·  block {series} in the series at these joints" if series is not None else "")


def _block_result(reading: pathway.BlockReading, threshold: int) -> str:
    """POSITIVE or NEGATIVE in colour with the reason, as the clinic's policy reads the block."""
    if reading.positive:
        return f"{coloured('POSITIVE', OK_GREEN)} by the clinic's policy ({threshold}% relief)"
    reasons = []
    if reading.peak_relief is not None and reading.peak_relief < threshold:
        reasons.append(f"peak relief below {threshold}%")
    if reading.concordance == "shorter":
        reasons.append("relief shorter than the anesthetic lasts")
    return f"{coloured('NEGATIVE', ALERT)} by the clinic's policy: {'; '.join(reasons)}"


#: The diary table's first column ("Diary", "Pain", "Relief"); the times share the rest of the line, up to
#: `_DIARY_TIME_W` each.
_DIARY_LABEL_W = 40.0
_DIARY_TIME_W = 60.0


def _diary_table(block: BlockDetails, threshold: int | None, width: float) -> Table:
    """The diary in three rows: the times across (the pain before the block first), the pain at each, and the
    relief against the pain before (bold at or above the clinic's threshold)."""
    reliefs = dict(pathway.diary_relief(block))
    times = ["Before", *(vocab.label(vocab.DIARY_TIMES, entry.time) for entry in block.diary)]
    pains = [str(block.pain_before) if block.pain_before is not None else BLANK, *(str(e.pain) for e in block.diary)]
    relief_cells = [BLANK]
    bold: list[tuple[Any, ...]] = []
    for column, entry in enumerate(block.diary, start=2):
        relief = reliefs.get(entry.time)
        relief_cells.append(pathway.percent_text(relief) if relief is not None else BLANK)
        if relief is not None and threshold is not None and relief >= threshold:
            bold.append(("FONT", (column, 2), (column, 2), FONT_BOLD, 8, 10))
    widths = [_DIARY_LABEL_W, *_even_widths([stringWidth(t, FONT_BOLD, 8) + 8 for t in times], width - _DIARY_LABEL_W)]
    labels = [("FONT", (0, 1), (0, -1), FONT_BOLD, 8, 10), ("TEXTCOLOR", (0, 1), (0, -1), MUTED)]
    compact = [("TOPPADDING", (0, 1), (-1, -1), 1), ("BOTTOMPADDING", (0, 1), (-1, -1), 1.5)]
    rows = [["Pain", *pains], ["Relief", *relief_cells]]
    numeric = range(1, len(widths))
    return grid_table(["Diary", *times], rows, widths, numeric=numeric, extra=[*compact, *labels, *bold])


def _even_widths(needed: Sequence[float], room: float) -> list[float]:
    """Columns of one width (at most `_DIARY_TIME_W`) across `room`, but each at least as wide as it `needed` (a
    label such as "Next morning" takes its width; the others share what is left)."""
    wide = [False] * len(needed)
    while True:
        narrow = wide.count(False)
        rest = room - sum(n for n, w in zip(needed, wide, strict=True) if w)
        even = min(_DIARY_TIME_W, rest / narrow) if narrow else 0.0
        grown = [w or n > even for n, w in zip(needed, wide, strict=True)]
        if grown == wide:
            return [n if w else even for n, w in zip(needed, wide, strict=True)]
        wide = grown


def _indication_section(
    record: CaseRecord, width: float, on_pathway: Pathway | None, entry: CaseOnPathway | None
) -> list[Flowable]:
    """An ablation checked against the clinic's policy: the verdict, the positive blocks it follows, one line per
    rule (met or not, and the cases it rests on), and the reason recorded for doing it outside the policy
    (printed nowhere else)."""
    if record.procedure not in vocab.ABLATIONS:
        return []
    st = styles()
    reason = text(record.outside_policy_reason) if record.outside_policy_reason else None
    if on_pathway is None or entry is None:  # printed without the patient's other cases: no verdict to give
        if not reason:
            return []
        unchecked = [
            para("Not checked here: this summary was printed without the patient's other cases.", st.body),
            para(f"<b>Reason recorded for doing it outside the policy:</b> {reason}", st.body),
        ]
        return [*section("Indication check", room=60), *unchecked]
    check = entry.check
    threshold = on_pathway.policy.relief_threshold_percent
    # The verdict goes on the heading's line, at its right (as a block's facts do): it takes no line of its own.
    said = f"{verdict(check)} ({text(policy_name(on_pathway.policy))})"
    followed = followed_blocks(on_pathway, entry)
    shown = {b.case.case_number for b in followed}
    parts: list[Flowable] = [_rule_lines(check, shown, width)]
    if followed:
        parts.insert(0, field_grid([("*Follows", "<br/>".join(block_line(b, threshold) for b in followed))], width))
    if reason:
        parts.append(field_grid([("*Reason recorded", reason)], width))
    elif check.outside_policy:
        parts.append(field_grid([("*Reason recorded", coloured("None: required before the case is signed.", ALERT))],
                                width))  # fmt: skip
    room = min(_height(parts, width), 400) + 30
    return [*_heading_with_facts("Indication check", f"{_fact('Verdict')} {said}", width, room=room), *parts]


def _rule_lines(check: IndicationCheck, shown: set[str | None], width: float) -> Table:
    """One line per rule of the policy (those not met first): "Met" or "Not met" where the field labels are, then
    the finding and the cases it rests on. The same finding with the same evidence at several joints (both sides
    of a bilateral level) is one line naming each joint. A block printed under "Follows" is named by its number
    and date only; any other evidence keeps what it shows."""
    lines: dict[tuple[Any, ...], tuple[bool, list[str], str]] = {}
    for finding in sorted(check.findings, key=lambda f: f.met):
        evidence = "; ".join(
            f"{e.case_number or 'this case'} ({fmt_date(e.date)})"
            + ("" if e.case_number in shown and e.case_number is not None else f": {e.text}")
            for e in finding.evidence
        )
        rest = finding.text + (f"  ·  evidence {evidence}" if evidence else "")
        prefix = f"{finding.where}: "
        if not finding.text.startswith(prefix):  # not worded by joint: a line of its own
            lines[(id(finding),)] = (finding.met, [], rest)
            continue
        key = (finding.rule, finding.met, rest[len(prefix) :])
        lines.setdefault(key, (finding.met, [], rest[len(prefix) :]))[1].append(finding.where)
    rows: list[list[Any]] = []
    for met, wheres, rest in lines.values():
        word = coloured("Met", OK_GREEN) if met else coloured("Not met", ALERT)
        line = text(", ".join(wheres) + ": " + rest if wheres else rest)
        rows.append([para(word, styles().cell), para(line, styles().cell)])
    if not rows:
        rows.append(["", para(BLANK, styles().cell)])
    table = Table(rows, colWidths=[_LABEL_W, width - _LABEL_W], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 0.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


#: The label column of a two-column field grid, which the rule lines line up with.
_LABEL_W = 27 * 4.0
