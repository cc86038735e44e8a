"""One table of a case's fields: each top-level field of the CASE object described once.

Validation, the JSON object (to and from), the database row, the CSV and XLSX columns, the detail pane, the
PDF summary and the simple widgets of the case form are all built from `FIELDS`. A new scalar field is one
entry here, one attribute of CaseRecord, one model column and one migration. The nested parts (patient,
levels, anesthesia, complications, outcomes) stand in the table only to give their place in the object and in
docs/format.md; their rules are explicit code, each in one place (caselog.validation).

`python -m caselog.format_doc` prints the field list that docs/format.md holds between its markers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from caselog import vocab

Kind = Literal[
    "case_number",  # YYYY-NNNNN, assigned when absent
    "date",  # YYYY-MM-DD
    "datetime",  # local time, YYYY-MM-DDTHH:MM
    "int",  # a whole number within [low, high]
    "text",  # free text: keeps invisible characters pasted from letters
    "name",  # a person's or a place's name: refuses invisible characters
    "choice",  # a key of `choices`
    "bool",  # true or false; absent is false
    "names",  # a list of names
    "codes",  # a list of codes matching `pattern`
    "part",  # a nested part (patient, levels, ...): explicit code
]
Section = Literal["procedure", "codes", "timing", "course", "referral", "notes"]

#: Limits written once and used by validation, the database's check constraint and the form.
DURATION_MINUTES_MAX = 1440
#: Two hours of fluoroscopy: far beyond any spine procedure logged here (a long fusion needs a few minutes), so a
#: larger number is a typing error (minutes typed as seconds times sixty, or a dose figure).
FLUOROSCOPY_SECONDS_MAX = 7200
NAME_MAX = 100
#: A referring physician or a copy recipient as printed on one address line: name, practice, street, town.
ADDRESS_LINE_MAX = 200
COPY_TO_MAX = 10
CPT_RE = re.compile(r"\d{4}[0-9A-Z]")
ICD10_RE = re.compile(r"[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?")


@dataclass(frozen=True, slots=True)
class FormPlace:
    """Where a field sits on the case form: its group, its row within the group, its title and hint.

    An & in the title makes Alt+letter jump to the field (unique across the form)."""

    section: Section
    order: int
    title: str
    placeholder: str = ""
    #: A box of several lines (indication, notes) instead of one line.
    multiline: bool = False
    #: Offers the names used before (surgeons, facilities) as choices, and takes a new one typed.
    known_names: bool = False


@dataclass(frozen=True, slots=True)
class Field:
    """One top-level field of the CASE object."""

    key: str
    #: As printed beside the value (detail pane, PDF, XLSX header).
    label: str
    #: As a person names it in a sentence ("blood loss"): the form's status line and validation messages.
    short: str
    kind: Kind
    #: One spelling everywhere: "mL", "min", "s", "%".
    unit: str = ""
    low: int = 0
    high: int = 0
    max_len: int = 0
    max_items: int = 0
    choices: Mapping[str, str] | None = None
    pattern: re.Pattern[str] | None = None
    example: str = ""
    required: bool = False
    #: A format extension (docs/format.md): written to JSON only when it holds something.
    extension: bool = False
    #: Its CSV column (the key by default); None: not a column of its own.
    csv: str | None = ""
    #: Width of its column on the XLSX Cases sheet; 0: not a column there.
    xlsx_width: int = 0
    #: Where the detail pane and the summary PDF print it: with the procedure's details or with the course
    #: (blood loss, disposition); "" when those views print it in a place of their own (times, notes).
    shown: Literal["", "procedure", "course"] = ""
    form: FormPlace | None = None
    #: What docs/format.md says of it beyond type and limits.
    doc: str = ""

    @property
    def column(self) -> str:
        """Its column in the cases table."""
        return self.key

    @property
    def csv_column(self) -> str | None:
        return self.key if self.csv == "" else self.csv

    @property
    def heading(self) -> str:
        """Label with unit, as a column heading: "Estimated blood loss (mL)"."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def limits_text(self) -> str:
        """The rule in words, for docs/format.md."""
        parts: list[str] = []
        if self.kind == "int":
            parts.append(f"whole number {self.low}..{self.high}")
        elif self.kind == "bool":
            parts.append("`false` when absent")
        elif self.kind in ("text", "name"):
            parts.append(f"1..{self.max_len} characters")
        elif self.kind == "names":
            each = f"each 1..{self.max_len} characters"
            parts.append(f"at most {self.max_items}, {each}" if self.max_items else each)
        elif self.kind == "codes":
            parts.append(f"each like {self.example}, none twice")
        elif self.kind == "choice" and self.choices is not None:
            parts.append("one of " + ", ".join(f"`{k}`" for k in self.choices))
        elif self.kind == "date":
            parts.append("YYYY-MM-DD, 1900 or later")
        elif self.kind == "datetime":
            parts.append("YYYY-MM-DDTHH:MM, local time")
        elif self.kind == "case_number":
            parts.append("YYYY-NNNNN, from 100000 on YYYY-NNNNNN (format version 4); assigned when absent")
        if self.doc:
            parts.append(self.doc)
        return "; ".join(parts)


def _part(key: str, label: str, doc: str) -> Field:
    return Field(key, label, label.lower(), "part", csv=None, doc=doc)


#: The CASE object's fields in the contract's order (the order an export writes them), extensions last.
FIELDS: tuple[Field, ...] = (
    Field("case_number", "Case number", "case number", "case_number", xlsx_width=13),
    Field("status", "Status", "status", "choice", choices=vocab.CASE_STATUSES, xlsx_width=9,
          doc="`draft` when absent; `amended` only by an amendment, never imported"),
    _part("patient", "Patient", "object: `mrn`, `family_name`, `given_name`, `birth_date`, `sex`"),
    Field("procedure_date", "Procedure date", "procedure date", "date", required=True, xlsx_width=13,
          shown="procedure", form=FormPlace("procedure", 1, "&Date"), doc="not in the future"),
    Field("facility", "Facility", "facility", "name", max_len=NAME_MAX, xlsx_width=20, shown="procedure",
          form=FormPlace("procedure", 6, "Fa&cility", known_names=True)),
    Field("surgeon", "Surgeon", "surgeon", "name", max_len=NAME_MAX, required=True, xlsx_width=20,
          shown="procedure", form=FormPlace("procedure", 4, "Surgeo&n", known_names=True)),
    Field("assistants", "Assistants", "assistants", "names", max_len=NAME_MAX, xlsx_width=20, shown="procedure",
          form=FormPlace("procedure", 5, "A&ssistants", "separate names with ;")),
    Field("procedure", "Procedure", "procedure", "choice", choices=vocab.PROCEDURES, required=True,
          xlsx_width=30, shown="procedure", form=FormPlace("procedure", 2, "&Procedure")),
    Field("procedure_detail", "Procedure detail", "procedure detail", "text", max_len=200, xlsx_width=24,
          shown="procedure", form=FormPlace("procedure", 3, "Detai&l", "required for Other procedure"),
          doc="required when `procedure` is `other`"),
    Field("cpt_codes", "CPT", "CPT codes", "codes", pattern=CPT_RE, example="64635", xlsx_width=16,
          shown="procedure", form=FormPlace("codes", 1, "CP&T", "e.g. 64635 64636")),
    Field("diagnosis_codes", "ICD-10", "ICD-10 codes", "codes", pattern=ICD10_RE, example="M47.816",
          xlsx_width=16, shown="procedure", form=FormPlace("codes", 2, "ICD-&10", "e.g. M47.816")),
    Field("indication", "Indication", "indication", "text", max_len=2000, xlsx_width=30, shown="procedure",
          form=FormPlace("notes", 1, "Indication", "Indication (optional)", multiline=True)),
    Field("injury_related", "Injury related", "injury related", "bool", xlsx_width=8, shown="procedure",
          form=FormPlace("course", 5, "In&jury related (e.g. car accident)")),
    Field("prior_block_relief_percent", "Prior block relief", "block relief", "int", unit="%", low=0, high=100,
          xlsx_width=10, shown="procedure", form=FormPlace("course", 4, "Bloc&k relief", "0-100"),
          doc="relief after a diagnostic block"),
    _part("levels", "Levels", "list of `{level, side}`, at least one, each level once"),
    Field("start_time", "Start", "start time", "datetime", xlsx_width=17,
          form=FormPlace("timing", 1, "Sta&rt", "HH:MM"), doc="with `end_time` or not at all; on the procedure date"),
    Field("end_time", "End", "end time", "datetime", xlsx_width=17,
          form=FormPlace("timing", 2, "&End", "HH:MM"), doc="after `start_time`"),
    Field("duration_minutes", "Duration", "duration", "int", unit="min", low=1, high=DURATION_MINUTES_MAX,
          xlsx_width=9, form=FormPlace("timing", 3, "D&uration", "minutes"),
          doc="required without start and end time; equals end minus start when they are given"),
    _part("anesthesia", "Anesthesia", "object: `type`, `sedation`, `asa_class`, `emergency`, `provider`"),
    Field("estimated_blood_loss_ml", "Estimated blood loss", "blood loss", "int", unit="mL", low=0, high=10000,
          xlsx_width=9, shown="course", form=FormPlace("course", 1, "Blood loss", "mL, optional")),
    Field("disposition", "Disposition", "disposition", "choice", choices=vocab.DISPOSITIONS, required=True,
          xlsx_width=22, shown="course", form=FormPlace("course", 3, "D&isposition")),
    _part("complications", "Complications", "list of complication objects"),
    _part("outcomes", "Outcomes", "list of outcome scores and answers, each timepoint once (see below: version 3 "
          "added answers and timepoints)"),
    Field("notes", "Notes", "notes", "text", max_len=10000, xlsx_width=40,
          form=FormPlace("notes", 2, "Notes", "Notes (optional)", multiline=True)),
    # Extensions of the format (docs/format.md):
    Field("referring_physician", "Referring physician", "referring physician", "name", max_len=ADDRESS_LINE_MAX,
          extension=True, xlsx_width=30, shown="procedure",
          form=FormPlace("referral", 1, "Referring physician", "name, practice, address (printed on the summary)"),
          doc="who sent the patient, as printed on one address line"),
    Field("copy_to", "Copy to", "copy to", "names", max_len=ADDRESS_LINE_MAX, max_items=COPY_TO_MAX,
          extension=True, xlsx_width=30, shown="procedure",
          form=FormPlace("referral", 2, "Copy to", "who else gets the summary; separate with ;"),
          doc="who else receives the case summary"),
    Field("fluoroscopy_time_s", "Fluoroscopy time", "fluoroscopy time", "int", unit="s", low=0,
          high=FLUOROSCOPY_SECONDS_MAX, extension=True, xlsx_width=10, shown="course",
          form=FormPlace("course", 2, "Fluoroscopy", "seconds, optional"),
          doc="total fluoroscopy (X-ray screening) time, as radiation-safety rules ask clinics to log"),
    # Format version 2 (docs/format.md):
    Field("block", "Block", "block details", "part", csv=None, extension=True,
          doc="object: `anesthetic`, `anesthetic_detail`, `pain_before`, `diary`, `activities_possible`; "
              "medial branch blocks only (format version 2)"),
    Field("outside_policy_reason", "Reason outside policy", "reason outside policy", "text", max_len=2000,
          extension=True, xlsx_width=30,
          doc="why a case the clinic's selection rules do not cover was done (format version 2)"),
    # Format version 3 (docs/format.md):
    Field("follow_up_attempts", "Follow-up attempts", "follow-up attempts", "part", csv=None, extension=True,
          doc="list of `{timepoint, date, result, note}`: attempts to reach the patient for a follow-up that "
              "gave no outcome (format version 3)"),
)  # fmt: skip

BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}
#: Every key a CASE object may hold.
CASE_KEYS: frozenset[str] = frozenset(BY_KEY)
#: Fields that map one to one onto a column of the cases table (the case number is assigned on insert).
STORED: tuple[Field, ...] = tuple(f for f in FIELDS if f.kind not in ("part", "case_number"))
#: Fields on the form's generic widgets, by section, in their order there.
ON_FORM: dict[Section, tuple[Field, ...]] = {}
for _f in sorted((f for f in FIELDS if f.form is not None), key=lambda f: f.form.order if f.form else 0):
    assert _f.form is not None
    ON_FORM[_f.form.section] = (*ON_FORM.get(_f.form.section, ()), _f)


def compiled(name: str, lines: list[str], namespace: dict[str, Any]) -> Callable[..., Any]:
    """A function written out from the table, field by field, and compiled once at import.

    An import of 10,000 cases runs these hundreds of thousands of times: written out, they cost what the
    hand-written code they replace cost, where a loop over the table dispatching on each field's kind would
    double the time. `lines` is the function's source (def line first); `namespace` what it refers to.
    """
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<caselog.fields: {name}>", "exec"), namespace)  # source built from the table only
    function: Callable[..., Any] = namespace[name]
    return function


def json_expression(f: Field, value: str) -> str:
    """Source of the expression turning the record's `value` into the JSON object's (see `to_json`)."""
    if f.kind == "date":
        return f"(None if {value} is None else {value}.isoformat())"
    if f.kind == "datetime":
        return f'(None if {value} is None else {value}.strftime("%Y-%m-%dT%H:%M"))'
    if f.kind in ("names", "codes"):
        return f"list({value})"
    return value


def to_json(f: Field, value: Any) -> Any:
    """A record's value as the JSON object holds it."""
    if value is None:
        return None
    if f.kind == "date":
        return value.isoformat()
    if f.kind == "datetime":
        return value.strftime("%Y-%m-%dT%H:%M")
    if f.kind in ("names", "codes"):
        return list(value)
    return value


def is_empty(value: Any) -> bool:
    return value is None or value == () or value == [] or value == ""


def display(f: Field, value: Any) -> str:
    """A value as a reader sees it (detail pane, PDF); blank when not recorded."""
    if is_empty(value):
        return ""
    if f.kind == "bool":
        return "Yes" if value else "No"
    if f.kind == "choice" and f.choices is not None:
        return vocab.label(dict(f.choices), value)
    if f.kind == "names":
        return "; ".join(value)  # an address line holds commas
    if f.kind == "codes":
        return ", ".join(value)
    if f.kind == "date":
        return str(value.isoformat())
    if f.kind == "datetime":
        return str(value.strftime("%Y-%m-%d %H:%M"))
    if f.unit == "%":
        return f"{value}%"
    if f.unit:
        return f"{value} {f.unit}"
    return str(value)


def csv_value(f: Field, value: Any) -> Any:
    """A value in its CSV cell (text that could run as a formula is marked by the writer)."""
    if f.kind == "bool":
        return "yes" if value else "no"
    if is_empty(value):
        return ""
    if f.kind == "names":
        return "; ".join(value)
    if f.kind == "codes":
        return " ".join(value)
    if f.kind == "date":
        return value.isoformat()
    if f.kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M")
    return value


def xlsx_value(f: Field, value: Any) -> Any:
    """A value in its XLSX cell: labels for choices, real numbers and dates (the writer formats dates)."""
    if f.kind == "bool":
        return "yes" if value else "no"
    if is_empty(value):
        return None
    if f.kind == "choice" and f.choices is not None:
        return vocab.label(dict(f.choices), value)
    if f.kind == "names":
        return "; ".join(value)
    if f.kind == "codes":
        return " ".join(value)
    return value


def markdown() -> str:
    """The field list of docs/format.md, generated from the table so the two cannot differ."""
    types = {
        "case_number": "string", "date": "string (date)", "datetime": "string (local time)", "int": "integer",
        "text": "string", "name": "string (a name)", "choice": "string (key)", "bool": "boolean",
        "names": "list of strings", "codes": "list of strings", "part": "",
    }  # fmt: skip
    lines = [
        "| field | type | required | unit | rule |",
        "|---|---|---|---|---|",
    ]
    for f in FIELDS:
        kind = types[f.kind] or ("object" if f.key in ("patient", "anesthesia", "block") else "list")
        required = "yes" if f.required or f.key in ("patient", "levels", "anesthesia") else "no"
        if f.extension:
            required = "no (extension)"
        lines.append(f"| `{f.key}` | {kind} | {required} | {f.unit} | {f.limits_text()} |")
    return "\n".join(lines) + "\n"
