"""The read-only detail pane beside the case list: one case with its levels, a block's diary and reading, the
indication check of an ablation, complications and outcomes."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import TYPE_CHECKING, TypedDict

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTextBrowser, QWidget

from caselog import fields, vocab
from caselog.errors import CaselogError
from caselog.policy import default_policy
from caselog.records import BlockDetails, CaseRecord, CaseView
from caselog.service import CaseService
from ui.case_model import duration_text
from ui.style import LIGHT, Colours, colours
from ui.tasks import TaskRunner

# What a selected case shows (its block, outcomes, indication check: caselog.pathway, caselog.outcomes and their
# HTML) loads with the first case shown, after the app's first page of cases.
if TYPE_CHECKING:
    from caselog.pathway import IndicationCheck


def style(c: Colours) -> str:
    """The pane's CSS in the colours of the window's palette (light or dark)."""
    return f"""
<style>
h2 {{ margin: 0 0 2px 0; font-size: 15pt; }}
h3 {{ margin: 12px 0 4px 0; font-size: 10.5pt; color: {c.title}; border-bottom: 1px solid {c.rule}; }}
td {{ padding: 1px 8px 1px 0; vertical-align: top; }}
td.k {{ color: {c.hint}; white-space: nowrap; }}
table.grid td {{ border-bottom: 1px solid {c.rule}; padding: 2px 8px 2px 0; }}
th {{ text-align: left; color: {c.hint}; font-weight: normal; padding-right: 8px; }}
.muted {{ color: {c.hint}; }}
.badge {{ font-weight: bold; color: {c.title}; }}
.draft {{ font-weight: bold; color: {c.warning}; }}
.signed {{ color: {c.success}; }}
</style>
"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _pairs(items: list[tuple[str, object]]) -> str:
    rows = "".join(f"<tr><td class='k'>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in items if v not in (None, "", ()))
    return f"<table>{rows}</table>"


def _shown(record: CaseRecord, group: str) -> list[tuple[str, object]]:
    """The table's fields printed in this group, with label and unit; a "no" stays unsaid, as a blank does."""
    return [
        (f.label, fields.display(f, value))
        for f in fields.FIELDS
        if f.shown == group and (value := getattr(record, f.key)) is not False
    ]


def _nerves(procedure: str, level: str) -> str:
    if procedure not in vocab.FACET_NERVE_PROCEDURES:
        return ""
    return ", ".join(vocab.nerves_targeted(level))


def _signature(view: CaseView) -> str:
    """Who signed the case and when (stored in UTC, shown in the workstation's time)."""
    if not view.signed_by:
        return ""
    when = ""
    if view.signed_at is not None:
        when = f" on {view.signed_at.replace(tzinfo=dt.UTC).astimezone():%Y-%m-%d at %H:%M}"
    return f"<div class='signed'>Signed by {_e(view.signed_by)}{when}</div>"


def _volume(volume: float | None) -> str:
    return f"{volume:g} mL" if volume is not None else ""


def block_html(
    block: BlockDetails,
    threshold: int,
    c: Colours,
    series: str = "",
    policy_problem: str | None = None,
    *,
    reading: bool = False,
) -> str:
    """A block's place in the series, anesthetic, pain before and diary with the relief at each time, and its
    reading (none when the clinic's policy could not be read: `policy_problem` says why; a line saying it is being
    read while the pane reads it in the background: `reading`)."""
    from caselog import pathway
    from ui.block_section import reading_html

    anesthetic = vocab.label(vocab.BLOCK_ANESTHETICS, block.anesthetic)
    if block.anesthetic_detail:
        anesthetic += f" ({block.anesthetic_detail})"
    activities = {True: "could do what usually hurts", False: "still could not"}.get(block.activities_possible)  # type: ignore[arg-type]
    parts = [
        "<h3>Diagnostic block</h3>",
        f"<div><b>{_e(series)}</b></div>" if series else "",
        _pairs(
            [
                ("Anesthetic", anesthetic),
                ("Pain before", f"{block.pain_before} of 10" if block.pain_before is not None else None),
                ("Activities", activities),
            ]
        ),
    ]
    if block.diary:
        reliefs = dict(pathway.diary_relief(block))
        cells = "".join(
            f"<tr><td>{_e(vocab.DIARY_TIMES[e.time])}</td><td>{e.pain}</td>"
            f"<td>{_e(pathway.percent_text(reliefs.get(e.time)))}</td></tr>"
            for e in block.diary
        )
        parts.append(f"<table class='grid'><tr><th>After</th><th>Pain</th><th>Relief</th></tr>{cells}</table>")
        if reading:
            parts.append(f"<div class='muted'>{READING}</div>")
        elif policy_problem is not None:
            parts.append(f"<div style='color: {c.error}'>Not judged: {_e(policy_problem)}</div>")
        else:
            parts.append(f"<div>{reading_html(block, threshold, c.success, c.error)}</div>")
    return "".join(parts)


def case_html(
    view: CaseView,
    c: Colours = LIGHT,
    *,
    threshold: int | None = None,
    check: IndicationCheck | None = None,
    series: str = "",
    policy_problem: str | None = None,
    reading: bool = False,
) -> str:
    """The pane's content; every value escaped (names and notes are typed by people). A block is read under the
    clinic's `threshold` (the default policy's when not given; not at all with a `policy_problem`), with its place
    in the patient's `series`; `check` is an ablation's indication check. With `reading`, the block's reading and
    the check say they are being read instead (the pane reads them in the background)."""
    r = view.record
    p = r.patient
    a = r.anesthesia
    status = vocab.label(vocab.CASE_STATUSES, r.status)
    status_html = f"<span class='{'draft' if r.status == 'draft' else 'badge'}'>{_e(status)}</span>"
    parts = [
        style(c),
        f"<h2>{_e(p.display_name)}</h2>",
        f"<div class='muted'>MRN {_e(p.mrn)} · born {p.birth_date.isoformat()} · "
        f"{_e(vocab.label(vocab.SEXES, p.sex))} · age {p.age_on(r.procedure_date)} at the procedure</div>",
        f"<div>Case {_e(view.case_number)} · {status_html} · version {view.version}</div>",
        _signature(view),
        "<h3>Procedure</h3>",
        _pairs(_shown(r, "procedure")),
        "<h3>Levels</h3>",
        "<table>"
        + "".join(
            f"<tr><td><b>{_e(lv.level)}</b></td><td>{_e(vocab.label(vocab.SIDES, lv.side))}</td>"
            f"<td class='muted'>{_e(_nerves(r.procedure, lv.level))}</td><td>{_e(_volume(lv.volume_ml))}</td></tr>"
            for lv in r.levels
        )
        + "</table>",
        block_html(
            r.block, threshold or default_policy().relief_threshold_percent, c, series, policy_problem, reading=reading
        )
        if r.block
        else "",
        f"<h3>Indication check</h3><div class='muted'>{CHECKING}</div>"
        if reading and r.procedure in vocab.ABLATIONS
        else _indication_html(r, check, c),
        "<h3>Timing and anesthesia</h3>",
        _pairs(
            [
                ("Start", r.start_time.strftime("%H:%M") if r.start_time else None),
                ("End", r.end_time.strftime("%H:%M") if r.end_time else None),
                ("Duration", duration_text(r.duration_minutes)),
                ("Anesthesia", vocab.label(vocab.ANESTHESIA_TYPES, a.type)),
                ("Sedation", vocab.label(vocab.SEDATION_LEVELS, a.sedation)),
                ("ASA", a.asa_text),
                ("Anesthesia by", a.provider),
                *_shown(r, "course"),
            ]
        ),
        f"<h3>Complications ({len(r.complications)})</h3>",
    ]
    if r.complications:
        rows = "".join(
            f"<tr><td>{_e(vocab.label(vocab.COMPLICATION_CATEGORIES, c.category))}"
            f"{'<br><span class=muted>' + _e(c.description) + '</span>' if c.description else ''}</td>"
            f"<td>{c.onset_date.isoformat()}</td><td>{_e(c.clavien_dindo)}</td>"
            f"<td>{_e(vocab.label(vocab.REVIEW_STATUSES, c.review_status))}</td></tr>"
            for c in r.complications
        )
        parts.append(
            "<table class='grid'><tr><th>Complication</th><th>Onset</th><th>Grade</th><th>Review</th></tr>"
            f"{rows}</table>"
        )
    else:
        parts.append("<div class='muted'>None recorded.</div>")
    parts.append(outcomes_html(r))
    if r.notes:
        parts.append("<h3>Notes</h3>")
        parts.append(f"<div>{_e(r.notes).replace(chr(10), '<br>')}</div>")
    return "".join(parts)


#: What a ✓ beside a score means, under the outcome table.
MCID_LEGEND = "✓ reached the minimal clinically important difference against baseline"


def outcomes_html(r: CaseRecord) -> str:
    """The outcomes with the region's measures (and any other score held), a ✓ beside each score and PGIC that
    reached MCID, and the follow-up's answers in words; then the follow-up attempts. Each follow-up is one row
    whose scores wrap between items, never inside one: the pane may be a few words wide on a small screen."""
    from caselog import outcomes

    parts = [f"<h3>Outcomes ({len(r.outcomes)})</h3>"]
    if r.outcomes:
        scores = outcomes.scores_held(r.levels, r.outcomes)
        flags = outcomes.case_mcid(r.levels, r.outcomes)
        order = list(vocab.TIMEPOINTS)
        rows = []
        for o in sorted(r.outcomes, key=lambda o: (order.index(o.timepoint) if o.timepoint in order else 99, o.date)):
            flag = flags.get(o.timepoint)
            items = [_item(_HEADS[m], getattr(o, m), flag.get(m) if flag else None) for m in scores]
            items += [_item("Relief", f"{o.relief_percent}%" if o.relief_percent is not None else None, None)]
            items += [_item("PGIC", o.pgic, flag.get("pgic") if flag else None)]
            said = outcomes.answers_text(o)
            rows.append(
                f"<tr><td style='white-space: nowrap'>{_e(vocab.label(vocab.TIMEPOINTS, o.timepoint))}<br>"
                f"<span class=muted>{o.date.isoformat()}</span></td>"
                f"<td>{' · '.join(i for i in items if i)}"
                f"{'<br><span class=muted>' + _e(said) + '</span>' if said else ''}</td></tr>"
            )
        parts.append(
            f"<div class='muted'>{_e(_scales(scores, any(o.pgic is not None for o in r.outcomes)))}</div>"
            f"<table class='grid'><tr><th>When</th><th>Scores</th></tr>{''.join(rows)}</table>"
        )
        if any(f.any_reached for f in flags.values()):
            parts.append(f"<div class='muted'>{_e(MCID_LEGEND)}</div>")
    else:
        parts.append("<div class='muted'>None recorded.</div>")
    if r.follow_up_attempts:
        parts.append(f"<h3>Follow-up attempts ({len(r.follow_up_attempts)})</h3>")
        parts += [
            f"<div><span style='white-space: nowrap'>{a.date.isoformat()}</span> · "
            f"{_e(vocab.label(vocab.TIMEPOINTS, a.timepoint))}: "
            f"<b>{_e(vocab.label(vocab.FOLLOW_UP_RESULTS, a.result))}</b>"
            f"{' <span class=muted>(' + _e(a.note) + ')</span>' if a.note else ''}</div>"
            for a in r.follow_up_attempts
        ]
    return "".join(parts)


#: Each score's name in the pane's rows ("Back 3 ✓").
_HEADS = {"nrs_back": "Back", "nrs_leg": "Leg", "nrs_neck": "Neck", "nrs_arm": "Arm", "odi": "ODI", "ndi": "NDI"}


def _item(name: str, value: object, reached: bool | None) -> str:
    """ "ODI 12 ✓" kept on one line; blank when not recorded."""
    if value is None:
        return ""
    return f"<span style='white-space: nowrap'>{_e(name)} {_e(value)}{' ✓' if reached else ''}</span>"


def _scales(scores: tuple[str, ...], pgic: bool) -> str:
    """The scales in one line: "Pain NRS 0-10 (back, leg), ODI 0-100, PGIC 1 very much improved to 7 very much
    worse"."""
    pains = [_HEADS[m].lower() for m in scores if m.startswith("nrs")]
    parts = [f"Pain NRS 0-10 ({', '.join(pains)})"] if pains else []
    parts += [f"{_HEADS[m]} 0-100" for m in scores if not m.startswith("nrs")]
    return ", ".join(parts + ["PGIC 1 very much improved to 7 very much worse"] * pgic)


def _indication_html(record: CaseRecord, check: IndicationCheck | None, c: Colours) -> str:
    if check is None or not check.applies:
        return ""
    from ui.indication_strip import check_html

    reason = record.outside_policy_reason
    said = f"<div>Reason outside policy: {_e(reason)}</div>" if reason else ""
    return f"<h3>Indication check</h3><div>{check_html(check, c)}</div>{said}"


#: What the pane says while it reads the clinic's policy (and the patient's other cases) in the background.
READING = "Reading the clinic's policy…"
CHECKING = "Checking against the clinic's policy…"


class PolicyReading(TypedDict, total=False):
    threshold: int
    check: IndicationCheck
    series: str
    policy_problem: str


#: The pane's narrowest width, in average characters of its font.
MIN_WIDTH_CHARS = 44


class CaseDetailPane(QTextBrowser):
    """Shows one case, or a hint when nothing is selected. Read-only; text can be selected and copied.

    The clinic's policy, a block's place in the series and an ablation's indication check are read off the GUI
    thread (a slow database never freezes the window): the case shows at once, those parts when read."""

    #: The background reading of the case shown is in the pane (tests wait for it).
    read = Signal()

    def __init__(
        self, cases: CaseService | None = None, parent: QWidget | None = None, *, tasks: TaskRunner | None = None
    ) -> None:
        super().__init__(parent)
        self._cases = cases
        #: Where the reads run: the window's task runner when given, else one of the pane's own.
        self.tasks = tasks or TaskRunner(self)
        self._generation = 0
        self.setAccessibleName("Case details")
        # Room for a label and a long word beside it: narrower, "Radiofrequency" and dates broke inside the word
        # (the splitter gave the pane 190 points on 1366×768 at 150%).
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * MIN_WIDTH_CHARS)
        self.setOpenLinks(False)
        self.show_case(None)

    def show_case(self, view: CaseView | None) -> None:
        self.current = view
        self._generation += 1
        c = colours(self.palette())
        if view is None:
            self.setHtml(style(c) + "<p class='muted'>Select a case to see its details.</p>")
        elif self._cases is None or not _reads_policy(view.record):
            self.setHtml(case_html(view, c))  # nothing of it depends on the clinic's policy
        else:
            self.setHtml(case_html(view, c, reading=True))
            generation, cases = self._generation, self._cases
            self.tasks.run(
                lambda _progress: policy_reading(cases, view),
                on_result=lambda found: self._show_reading(generation, view, found),
                on_error=lambda exc: self._show_reading(
                    generation, view, {"policy_problem": f"the clinic's policy could not be read. {exc}"}
                ),
                owner=self,
            )

    def _show_reading(self, generation: int, view: CaseView, found: PolicyReading) -> None:
        """The case again with what was read, unless another case (or none) was shown since."""
        if generation != self._generation:
            return
        self.setHtml(case_html(view, colours(self.palette()), **found))
        self.read.emit()


def _reads_policy(record: CaseRecord) -> bool:
    """Whether the pane shows anything read under the clinic's policy: a block's reading, an ablation's check."""
    return record.block is not None or record.procedure in vocab.ABLATIONS


def policy_reading(cases: CaseService, view: CaseView) -> PolicyReading:
    """The clinic's threshold, a block's place in the series and an ablation's indication check (one patient's
    cases: quick, but a read of the database all the same, so the pane runs it in the background)."""
    from ui.indication_strip import block_series

    found: PolicyReading = {}
    record = view.record
    try:
        found["threshold"] = cases.indication_policy().relief_threshold_percent
    except CaselogError as exc:  # a damaged policy: no block is judged under a default it may not be
        found["policy_problem"] = f"the clinic's policy could not be read. {exc.message}"
        return found
    try:
        if record.procedure in vocab.ABLATIONS:
            found["check"] = cases.indication_check(record, view.case_number)
        if record.block is not None:
            found["series"] = block_series(cases.patient_pathway(record.patient.mrn), record, view.case_number)
    except CaselogError:
        pass  # shown without what could not be read
    return found
