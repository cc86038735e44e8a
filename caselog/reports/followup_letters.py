"""The follow-up coordinator's papers: the call list of the follow-ups due (one line each, a blank column to write
the outcome in) and the patient letter (one page per patient) asking for the scores of the region's measures.

The letter holds numbers and tick boxes only: the names and ranges of the measures, never a questionnaire's
copyrighted wording. No phone numbers are stored in CaseLog, so the call list identifies each patient by name,
MRN and birth date and the coordinator dials from the clinic's own record (docs/decisions.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportlab.platypus import Flowable, PageBreak, Spacer, Table, TableStyle

from caselog import outcomes, vocab
from caselog.reports.common import (
    FONT,
    FONT_BOLD,
    INK,
    NAVY,
    RULE,
    ReportSettings,
    column_widths,
    fmt_date,
    frame_width,
    para,
    plain,
    row_table,
    section,
    styles,
    text,
    wrap_lines,
)
from caselog.reports.page import Context, PageContext, render

if TYPE_CHECKING:
    from caselog.followup import DueFollowUp

CALL_LIST_META = "CaseLog follow-up call list"
CALL_LIST_TITLE = "Follow-up call list"
LETTER_META = "CaseLog follow-up letter"
LETTER_TITLE = "Your follow-up"
#: Under each call's printed line, room to write what came of it by hand.
WRITING_ROOM = 14.0
CALL_COLUMNS = ("Patient", "MRN", "Born", "Case", "Procedure", "Levels", "Follow-up", "Due", "Days\noverdue",
                "Calls\nmade", "Outcome (write here)")  # fmt: skip
#: The patient letter's footer in place of the confidentiality notice meant for staff.
LETTER_FOOTER = "Please bring or send this page back to {facility}. It holds your answers only: no other record."

#: How the letter asks for each measure: (what, the scale's ends). Names and ranges, never a questionnaire's text.
MEASURE_QUESTIONS: dict[str, tuple[str, str]] = {
    "nrs_back": ("Pain in your back today", "0 = no pain, 10 = worst pain imaginable"),
    "nrs_leg": ("Pain in your leg or legs today", "0 = no pain, 10 = worst pain imaginable"),
    "nrs_neck": ("Pain in your neck today", "0 = no pain, 10 = worst pain imaginable"),
    "nrs_arm": ("Pain in your arm or arms today", "0 = no pain, 10 = worst pain imaginable"),
    "odi": ("Oswestry Disability Index (ODI) score", "0 to 100, from the form the clinic gave you"),
    "ndi": ("Neck Disability Index (NDI) score", "0 to 100, from the form the clinic gave you"),
}


def _scope_line(rows: Sequence[DueFollowUp], scope: str, today: dt.date) -> str:
    overdue = sum(1 for r in rows if r.status == "overdue")
    return f"{scope}  ·  as of {today.isoformat()}  ·  {len(rows)} follow-ups, {overdue} overdue"


def write_call_list(
    rows: Sequence[DueFollowUp],
    output: Path,
    *,
    settings: ReportSettings,
    today: dt.date,
    scope: str = "Follow-ups due",
    generated_at: dt.datetime | None = None,
) -> None:
    """The call list of `rows` in the order given (the desk's order): who to call, about which case and
    follow-up, how late it is and how many calls were made, and a blank column to write the outcome in.

    An empty list gives a one-page PDF saying so. Raises InvalidInput (exit 2) before any work when the output
    folder is missing or not writable.
    """
    width = frame_width(settings, landscape=True)
    context = Context(group="calls", title=CALL_LIST_TITLE, facility=settings.facility_name or "CaseLog",
                      subline=_scope_line(rows, scope, today), footer_label=CALL_LIST_TITLE)  # fmt: skip

    def make_story() -> list[Flowable]:
        story: list[Flowable] = [PageContext(context)]
        if not rows:
            story.append(para("No follow-ups are due in this list: nobody to call.", styles().notice))
            return story
        widths = column_widths(width, {1: 78.0, 2: 56.0, 3: 60.0, 6: 54.0, 7: 56.0, 8: 46.0, 9: 36.0},
                               {0: 0.24, 4: 0.16, 5: 0.22, 10: 0.38})  # fmt: skip
        room = [w - 6 for w in widths]
        lines = [
            [wrap_lines(r.patient_name, room[0], FONT_BOLD), wrap_lines(r.mrn, room[1]), fmt_date(r.birth_date),
             r.case_number, wrap_lines(vocab.label(vocab.PROCEDURE_SHORT, r.procedure), room[4]),
             wrap_lines(r.levels, room[5]), vocab.label(vocab.TIMEPOINTS, r.timepoint), fmt_date(r.due_date),
             str(r.days_overdue) if r.status == "overdue" else "", str(r.attempts), ""]
            for r in rows
        ]  # fmt: skip
        bold_name: list[tuple[Any, ...]] = [("FONT", (0, 0), (0, 0), FONT_BOLD, 8, 10)]
        table = row_table(CALL_COLUMNS, lines, widths, numeric=(8, 9),
                          row_styles=dict.fromkeys(range(len(lines)), bold_name))  # fmt: skip
        table.heights = [h + WRITING_ROOM for h in table.heights]  # the line under each call, for the pen
        table.style.append(("LINEBEFORE", (10, 0), (10, -1), 0.75, NAVY))
        story += [*section(f"Calls to make ({len(rows)})", room=120), table]
        return story

    render(output, make_story, settings=settings, generated_at=generated_at, meta_title=CALL_LIST_META,
           landscape=True)  # fmt: skip


# ---- the patient letter ------------------------------------------------------------------------------------


def _box(width: float, height: float = 20.0) -> Table:
    """An empty box to write a number or a date in."""
    box = Table([[""]], colWidths=[width], rowHeights=[height])
    box.setStyle(TableStyle([("BOX", (0, 0), (0, 0), 0.9, INK)]))
    return box


def _question_rows(questions: Sequence[tuple[str, str, float]], width: float) -> Table:
    """Questions, each with the scale's ends under it and a box to its right."""
    st = styles()
    box_w = 130.0
    rows = [[para(f"<b>{text(what)}</b><br/>{text(scale)}", st.body), _box(box_wide)]
            for what, scale, box_wide in questions]  # fmt: skip
    table = Table(rows, colWidths=[width - box_w, box_w], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
    ]))  # fmt: skip
    return table


def _tick_rows(choices: Sequence[str], width: float, *, columns: int = 2) -> Table:
    """Tick boxes (☐) for one answer out of `choices`, in `columns` columns."""
    cells = [f"☐  {plain(c)}" for c in choices]
    cells += [""] * (-len(cells) % columns)
    rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
    table = Table(rows, colWidths=[width / columns] * columns, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 10, 13),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))  # fmt: skip
    return table


def letter_measures(regions: Sequence[str]) -> tuple[str, ...]:
    """The scores a letter asks of a patient treated in `regions`: each region's scores (caselog.outcomes), once
    each, in the order the regions and their scores come."""
    wanted = [m for region in regions for m in outcomes.REGION_SCORES.get(region, ()) if m in MEASURE_QUESTIONS]
    return tuple(dict.fromkeys(wanted))


def by_patient(rows: Sequence[DueFollowUp]) -> list[list[DueFollowUp]]:
    """The rows of each patient (by MRN) together, patients in the order they first come: one letter each."""
    groups: dict[str, list[DueFollowUp]] = {}
    for row in rows:
        groups.setdefault(row.mrn, []).append(row)
    return list(groups.values())


def _what_was_done(rows: Sequence[DueFollowUp]) -> str:
    """ "a radiofrequency ablation at L4-L5 left on 2026-01-05 (6 months follow-up due on 2026-07-05)", joined."""
    parts = []
    for row in rows:
        procedure = vocab.label(vocab.PROCEDURES, row.procedure).lower()
        when = vocab.label(vocab.TIMEPOINTS, row.timepoint)
        article = "an" if procedure[:1] in "aeiou" else "a"
        parts.append(f"{article} {text(procedure)} at {text(row.levels)} on {fmt_date(row.procedure_date)} "
                     f"(<b>{text(when)}</b> follow-up due on <b>{fmt_date(row.due_date)}</b>)")  # fmt: skip
    return "; and ".join(parts)


def _footer_cases(rows: Sequence[DueFollowUp]) -> str:
    """The footer's reference to the follow-ups a letter asks about, short enough to share the footer line with
    "Generated ... by CaseLog": the body names every procedure and follow-up; staff find the rest by MRN."""
    if len(rows) == 1:
        return f"Case {rows[0].case_number} {vocab.label(vocab.TIMEPOINTS, rows[0].timepoint)}"
    numbers = list(dict.fromkeys(r.case_number for r in rows))
    more = len(numbers) - 2
    if len(numbers) == 1:
        return f"Case {numbers[0]}"
    return "Cases " + ", ".join(numbers[:2]) + (f" and {more} more" if more > 0 else "")


def _letter(rows: Sequence[DueFollowUp], facility: str, width: float, index: int) -> list[Flowable]:
    st = styles()
    first = rows[0]
    cases = _footer_cases(rows)
    context = Context(group=f"letter-{index}", title=LETTER_TITLE, facility=facility, patient=first.patient_name,
                      identifiers=f"MRN {plain(first.mrn)}  ·  born {fmt_date(first.birth_date)}",
                      footer_label=cases)  # fmt: skip
    intro = (
        f"You had {_what_was_done(rows)}. {text(facility)} follows how every patient is doing after a procedure. "
        "Please answer with a number or a tick in each box, then bring or send this page back to us. "
        "We may also call you to ask the same questions."
    )
    scores = [(*MEASURE_QUESTIONS[m], 70.0) for m in letter_measures([r.region for r in rows])]
    since = [
        ("How has your condition changed since the procedure?",
         "Write one number: " + "; ".join(f"{k} = {v.lower()}" for k, v in vocab.PGIC.items()), 70.0),
        ("The date you went back to your normal activities", "Year, month, day; leave blank if not yet", 130.0),
    ]  # fmt: skip
    label = st.label
    return [
        PageContext(context),
        para(intro, st.body),
        *section("Your pain and function today", room=40),
        _question_rows(scores, width),
        *section("Since the procedure", room=40),
        _question_rows(since, width),
        Spacer(1, 6),
        para("Were you prescribed physical therapy after the procedure?", label),
        _tick_rows(("Yes", "No"), width, columns=4),
        *section("Work and pain medication", room=40),
        para("Your work today", label),
        _tick_rows(tuple(vocab.WORK_STATUSES.values()), width),
        Spacer(1, 4),
        para("Pain medication you take today", label),
        _tick_rows(tuple(vocab.ANALGESIC_USE.values()), width, columns=3),
        Spacer(1, 10),
        _question_rows([("The date you filled in this page", "Year, month, day", 130.0)], width),
    ]


def write_patient_letters(
    rows: Sequence[DueFollowUp],
    output: Path,
    *,
    settings: ReportSettings,
    generated_at: dt.datetime | None = None,
) -> None:
    """One letter page per patient in `rows` (the desk's order; a patient with two follow-ups due gets one page
    naming both), asking for the scores of the measures of the regions treated, with blank boxes.

    Raises InvalidInput (exit 2) before any work when the output folder is missing or not writable; an empty
    `rows` gives a one-page PDF saying so."""
    facility = settings.facility_name or "CaseLog"
    # The notice at the foot of staff documents speaks to staff; the patient's page says where it goes back.
    letter_settings = dataclasses.replace(settings, confidentiality=LETTER_FOOTER.format(facility=plain(facility)))
    width = frame_width(settings)

    def make_story() -> list[Flowable]:
        if not rows:
            empty = Context(group="letters", title=LETTER_TITLE, facility=facility, subline="No letters to print")
            return [PageContext(empty), para("No follow-ups are due in this list: no letters to print.",
                                             styles().notice)]  # fmt: skip
        story: list[Flowable] = []
        for index, patient_rows in enumerate(by_patient(rows)):
            if index:
                story.append(PageBreak())
            story += _letter(patient_rows, facility, width, index)
        return story

    render(output, make_story, settings=letter_settings, generated_at=generated_at, meta_title=LETTER_META)


__all__ = ["by_patient", "letter_measures", "write_call_list", "write_patient_letters"]
