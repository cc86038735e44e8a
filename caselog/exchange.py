"""Exchange formats: the contract's JSON (read and write), CSV for spreadsheets, XLSX with one sheet per table.

Writers take an iterator of cases and stream it, so exporting 100,000 cases needs little memory.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from caselog import fields, pathway, vocab
from caselog.bulk import cyclic_gc_paused
from caselog.errors import InvalidInput
from caselog.fields import Field
from caselog.files import size_text, temporary_beside, write_error
from caselog.records import CaseRecord, CaseView, case_to_contract
from caselog.validation import FORMAT_NAME, FORMAT_VERSION, Problem, version_problems

Progress = Callable[[int, int, str], None]


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"the key {key!r} appears twice in one object")
            seen.add(key)
    return result


#: The largest interchange file read (file or standard input): 200 MB holds some 300,000 cases.
MAX_FILE_BYTES = 200 * 1024 * 1024
#: Objects and lists inside each other: a case file needs 5 levels; anything deeper is not a case file.
MAX_NESTING = 32


def read_interchange(path: Path) -> object:
    """Load an interchange file; every way it can be unreadable becomes one clear InvalidInput."""
    return parse_interchange(read_regular_file(path, MAX_FILE_BYTES, ".json"), str(path))


def read_regular_file(path: Path, limit: int, suffix: str) -> bytes:
    """At most `limit` + 1 bytes of a file given by a user (an interchange file, a schedule); every way it can be
    unreadable becomes one clear InvalidInput.

    Only a regular file is read: a FIFO or a device (`/dev/zero`) would hang or never end, so it is refused
    before a byte is read.
    """
    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # opening a FIFO must not wait
    except FileNotFoundError:
        raise InvalidInput([Problem(where, "file not found")]) from None
    except IsADirectoryError:
        raise InvalidInput([Problem(where, "is a folder, not a file")]) from None
    except PermissionError:
        raise InvalidInput([Problem(where, "cannot be read: permission denied")]) from None
    except OSError as exc:
        raise InvalidInput([Problem(where, f"cannot be read: {exc.strerror or exc}")]) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise InvalidInput([Problem(where, "is a folder, not a file")])
        raise InvalidInput([Problem(where, f"is not a regular file ({_kind(mode)}); give a {suffix} file")])
    with os.fdopen(fd, "rb") as handle:
        if os.name == "posix":
            os.set_blocking(fd, True)
        try:
            return handle.read(limit + 1)
        except OSError as exc:
            raise InvalidInput([Problem(where, f"cannot be read: {exc.strerror or exc}")]) from None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def parse_interchange(raw: bytes, where: str) -> object:
    """The JSON of an interchange file, from a file or standard input, under the same rules: at most
    MAX_FILE_BYTES, UTF-8, no key twice in one object, nested at most MAX_NESTING deep."""
    if len(raw) > MAX_FILE_BYTES:
        limit = size_text(MAX_FILE_BYTES)
        raise InvalidInput([Problem(where, f"is larger than the limit of {limit}; split it into smaller files")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput([Problem(where, f"is not UTF-8 text (byte {exc.start})")]) from None
    too_deep = InvalidInput([Problem(where, f"is nested more than {MAX_NESTING} levels deep; not a case file")])
    try:
        with cyclic_gc_paused():
            data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            [Problem(where, f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
        ) from None
    except ValueError as exc:
        if "integer string conversion" in str(exc):  # Python's own limit, not words for a clinic
            raise InvalidInput(
                [Problem(where, "holds a number thousands of digits long; no field takes one")]
            ) from None
        raise InvalidInput([Problem(where, f"is not valid: {exc}")]) from None
    except RecursionError:
        raise too_deep from None
    if _nesting(data) > MAX_NESTING:
        raise too_deep
    return data


_CONTAINERS = frozenset({dict, list})


def _nesting(data: object) -> int:
    """How deep objects and lists sit inside each other (a bare value is 0), counted up to MAX_NESTING + 1.

    Level by level; an object or list holding no container is passed over at C speed, so a 100,000-case file
    costs a fraction of its parsing time.
    """
    depth = 0
    level: list[Any] = [data] if type(data) in _CONTAINERS else []
    while level and depth <= MAX_NESTING:
        depth += 1
        deeper: list[Any] = []
        for value in level:
            children = value.values() if type(value) is dict else value
            if not _CONTAINERS.isdisjoint(map(type, children)):
                deeper.extend(child for child in children if type(child) in _CONTAINERS)
        level = deeper
    return depth


def single_case(data: object, where: str) -> object:
    """The one CASE object of a file given to `caselog update` (a file as for import, holding one case)."""
    if isinstance(data, dict) and "cases" in data:
        problems = []
        if data.get("format") != FORMAT_NAME:
            problems.append(Problem("format", f"must be {FORMAT_NAME!r}, not {data.get('format')!r}"))
        problems.extend(version_problems(data.get("cases"), data.get("version")))
        extra = [k for k in data if k not in ("format", "version", "cases")]
        problems.extend(Problem(k, "unknown field") for k in extra)
        cases = data.get("cases")
        if not isinstance(cases, list) or len(cases) != 1:
            problems.append(Problem("cases", "must hold exactly one case"))
        if problems:
            raise InvalidInput(problems)
        assert isinstance(cases, list)
        return cases[0]
    if isinstance(data, dict):  # a bare CASE object, as `caselog show --json` prints it
        return data
    raise InvalidInput([Problem(where, "must hold a case file object")])


@contextlib.contextmanager
def atomic_output(path: Path, mode: str = "w", *, newline: str | None = None) -> Iterator[IO[Any]]:
    """Write to an owner-only temporary file beside `path`, then rename: a failed export never leaves half a
    file. A full disk or another write failure is a StorageError naming `path`; nothing is left behind."""
    path = path.expanduser()
    folder = path.parent
    if not folder.is_dir():
        raise InvalidInput([Problem("--output", f"folder {folder} does not exist")])
    if not os.access(folder, os.W_OK):
        raise InvalidInput([Problem("--output", f"folder {folder} is not writable")])
    if path.exists() and not path.is_file():
        # The rename would put the export in place of a device or pipe (as root: /dev/full gone).
        kind = _kind(path.stat().st_mode)
        raise InvalidInput([Problem("--output", f"{path} is not a regular file ({kind}); give a file name")])
    try:
        with temporary_beside(path) as (fd, tmp):
            encoding = None if "b" in mode else "utf-8"
            with os.fdopen(os.dup(fd), mode, encoding=encoding, newline=newline) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
    except OSError as exc:
        raise write_error(exc, path, "the export") from exc


def write_json(cases: Iterable[CaseView], out: IO[str]) -> int:
    """The contract's interchange file, one case at a time. Returns how many cases were written."""
    out.write(f'{{"format": "{FORMAT_NAME}", "version": {FORMAT_VERSION}, "cases": [')
    count = 0
    for view in cases:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(case_to_contract(view.record), ensure_ascii=False, separators=(", ", ": ")))
        count += 1
    out.write("\n]}\n" if count else "]}\n")
    return count


# A spreadsheet runs a cell that starts with these as a formula; free text gets a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(value: str | None) -> str:
    if not value:
        return ""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the CSV file or the XLSX Cases sheet: a field of the table, or one derived from a part."""

    csv: str | None
    heading: str | None
    width: int
    csv_value: Callable[[CaseRecord], Any]
    xlsx_value: Callable[[CaseRecord], Any]


def _field_columns(f: Field) -> list[Column]:
    key = f.key
    typed = f.kind in ("text", "name", "names")  # typed by people: may start like a formula

    def csv_cell(record: CaseRecord) -> Any:
        value = fields.csv_value(f, getattr(record, key))
        return _safe_text(value) if typed else value

    return [
        Column(
            f.csv_column,
            f.heading if f.xlsx_width else None,
            f.xlsx_width,
            csv_cell,
            lambda record: fields.xlsx_value(f, getattr(record, key)),
        )
    ]


def _same(name: str, heading: str | None, width: int, value: Callable[[CaseRecord], Any]) -> Column:
    return Column(name, heading, width, value, value)


def _block_value(record: CaseRecord, name: str, missing: Any) -> Any:
    value = getattr(record.block, name) if record.block is not None else None
    return missing if value is None else value


def _block_anesthetic(record: CaseRecord) -> str | None:
    """The anesthetic's label on the XLSX sheet, with what "other" was."""
    block = record.block
    if block is None:
        return None
    name = vocab.label(vocab.BLOCK_ANESTHETICS, block.anesthetic)
    return f"{name} ({block.anesthetic_detail})" if block.anesthetic_detail else name


def _peak_relief(record: CaseRecord) -> int | None:
    """The block's best relief as a whole percent (the diary and the pain before are in the other columns)."""
    peak = pathway.peak_relief(record.block) if record.block is not None else None
    return None if peak is None else int(pathway.percent_text(peak).rstrip("%"))


#: The columns each nested part adds where it stands in the object.
_PART_COLUMNS: dict[str, list[Column]] = {
    "patient": [
        Column("mrn", "MRN", 12, lambda r: _safe_text(r.patient.mrn), lambda r: r.patient.mrn),
        Column("family_name", "Family name", 20, lambda r: _safe_text(r.patient.family_name),
               lambda r: r.patient.family_name),
        Column("given_name", "Given name", 16, lambda r: _safe_text(r.patient.given_name),
               lambda r: r.patient.given_name),
        Column("birth_date", "Birth date", 12, lambda r: r.patient.birth_date.isoformat(),
               lambda r: r.patient.birth_date),
        _same("sex", "Sex", 8, lambda r: r.patient.sex),
        _same("age_at_procedure", "Age", 6, lambda r: r.patient.age_on(r.procedure_date)),
    ],
    "levels": [
        _same("levels", "Levels", 28, lambda r: r.levels_text),
        _same("level_count", None, 0, lambda r: len(r.levels)),
    ],
    "anesthesia": [
        Column("anesthesia_type", "Anesthesia", 26, lambda r: r.anesthesia.type,
               lambda r: vocab.label(vocab.ANESTHESIA_TYPES, r.anesthesia.type)),
        Column("sedation", "Sedation", 10, lambda r: r.anesthesia.sedation or "", lambda r: r.anesthesia.sedation),
        Column("asa_class", "ASA", 6, lambda r: r.anesthesia.asa_text, lambda r: r.anesthesia.asa_text or None),
        _same("emergency", None, 0, lambda r: "yes" if r.anesthesia.emergency else "no"),
        _same("anesthesia_provider", None, 0, lambda r: _safe_text(r.anesthesia.provider)),
    ],
    "complications": [
        _same("complication_count", "Complications", 8, lambda r: len(r.complications)),
        Column("worst_clavien_dindo", "Worst Clavien-Dindo", 9, lambda r: r.worst_grade or "",
               lambda r: r.worst_grade),
    ],
    "outcomes": [_same("outcome_timepoints", None, 0, lambda r: " ".join(o.timepoint for o in r.outcomes))],
    "follow_up_attempts": [_same("follow_up_attempts", None, 0, lambda r: len(r.follow_up_attempts))],
    "block": [
        Column("block_anesthetic", "Block anesthetic", 14, lambda r: _block_value(r, "anesthetic", ""),
               _block_anesthetic),
        _same("block_anesthetic_detail", None, 0, lambda r: _safe_text(_block_value(r, "anesthetic_detail", ""))),
        _same("block_volumes_ml", None, 0, lambda r: "; ".join(f"{lv.level} {lv.volume_ml:g}" for lv in r.levels
                                                               if lv.volume_ml is not None)),
        Column("block_pain_before", "Pain before block", 8, lambda r: _block_value(r, "pain_before", ""),
               lambda r: _block_value(r, "pain_before", None)),
        _same("block_diary", None, 0, lambda r: "; ".join(f"{e.time} {e.pain}" for e in r.block.diary)
              if r.block else ""),
        Column("block_peak_relief_percent", "Block peak relief (%)", 10, lambda r: _peak_relief(r) or "",
               _peak_relief),
        _same("block_activities_possible", None, 0, lambda r: {True: "yes", False: "no"}.get(
            _block_value(r, "activities_possible", None), "")),
    ],
}  # fmt: skip

#: Parts whose columns follow another field than in the object, as spreadsheets have had them since the first
#: release: the patient after the procedure date, the levels after the procedure.
_PART_AFTER = {"patient": "procedure_date", "levels": "procedure_detail"}


def _columns() -> tuple[Column, ...]:
    """Every column: the fields in the object's order, each part's columns where it stands (docs/format.md)."""
    columns: list[Column] = []
    for f in fields.FIELDS:
        if f.kind == "part":
            if f.key not in _PART_AFTER:
                columns.extend(_PART_COLUMNS[f.key])
            continue
        columns.extend(_field_columns(f))
        for part, after in _PART_AFTER.items():
            if after == f.key:
                columns.extend(_PART_COLUMNS[part])
    return tuple(columns)


COLUMNS = _columns()
_CSV_COLUMNS = tuple(c for c in COLUMNS if c.csv is not None)
_XLSX_COLUMNS = tuple(c for c in COLUMNS if c.heading is not None)
CSV_COLUMNS = [c.csv for c in _CSV_COLUMNS]


def columns_markdown() -> str:
    """The CSV columns and the XLSX Cases sheet's headings in order, for docs/format.md (see caselog.fields)."""
    lines = ["| CSV column | XLSX Cases heading |", "|---|---|"]
    lines += [f"| {f'`{c.csv}`' if c.csv else ''} | {c.heading or ''} |" for c in COLUMNS]
    return "\n".join(lines) + "\n"


def _csv_row(view: CaseView) -> list[Any]:
    record = view.record
    return [column.csv_value(record) for column in _CSV_COLUMNS]


def write_csv(cases: Iterable[CaseView], out: IO[str]) -> int:
    """One row per case, UTF-8 with a byte-order mark so Excel keeps accents; levels as `L4-L5 bilateral; ...`."""
    out.write("\ufeff")
    writer = csv.writer(out, dialect="excel")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for view in cases:
        writer.writerow(_csv_row(view))
        count += 1
    return count


def write_xlsx(cases: Iterable[CaseView], path_handle: IO[bytes]) -> int:
    """Sheets Cases, Levels, Complications, Outcomes and Follow-up attempts, with real date cells, a frozen header
    and widths."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheets: dict[str, Any] = {}
    layouts: dict[str, list[tuple[str, int]]] = {
        "Cases": [(c.heading or "", c.width) for c in _XLSX_COLUMNS],
        "Levels": [("Case number", 13), ("Procedure date", 13), ("Level", 9), ("Side", 10), ("Procedure", 30)],
        "Complications": [
            ("Case number", 13), ("Procedure date", 13), ("Category", 34), ("Description", 30), ("Timing", 14),
            ("Onset date", 12), ("Clavien-Dindo", 8), ("Treatment", 30), ("Resolved date", 12), ("Review status", 12),
        ],
        "Outcomes": [
            ("Case number", 13), ("Procedure date", 13), ("Timepoint", 10), ("Date", 12), ("NRS back", 8),
            ("NRS leg", 8), ("ODI", 6), ("Relief %", 8), ("NRS neck", 8), ("NRS arm", 8), ("NDI", 6), ("PGIC", 6),
            ("Work status", 26), ("Pain medication", 24), ("Returned to activities", 12), ("Physical therapy", 9),
        ],
        "Follow-up attempts": [
            ("Case number", 13), ("Procedure date", 13), ("Timepoint", 10), ("Date", 12), ("Result", 20),
            ("Note", 40),
        ],
    }  # fmt: skip
    for name, columns in layouts.items():
        sheets[name] = header_sheet(book, name, columns)

    def add_row(sheet_name: str, values: list[Any]) -> None:
        sheet = sheets[sheet_name]
        sheet.append([_xlsx_cell(sheet, v) for v in values])

    count = 0
    for view in cases:
        r = view.record
        number = view.case_number
        add_row("Cases", [column.xlsx_value(r) for column in _XLSX_COLUMNS])
        for lv in r.levels:
            add_row("Levels", [number, r.procedure_date, lv.level, lv.side, r.procedure_label])
        for c in r.complications:
            add_row("Complications", [
                number, r.procedure_date, vocab.label(vocab.COMPLICATION_CATEGORIES, c.category),
                c.description, c.timing, c.onset_date, c.clavien_dindo, c.treatment, c.resolved_date,
                vocab.label(vocab.REVIEW_STATUSES, c.review_status),
            ])  # fmt: skip
        for o in r.outcomes:
            add_row(
                "Outcomes",
                [number, r.procedure_date, o.timepoint, o.date, o.nrs_back, o.nrs_leg, o.odi, o.relief_percent,
                 o.nrs_neck, o.nrs_arm, o.ndi, o.pgic, vocab.label(vocab.WORK_STATUSES, o.work_status) or None,
                 vocab.label(vocab.ANALGESIC_USE, o.analgesics) or None, o.returned_to_activities,
                 _yes_no(o.physical_therapy)]
            )  # fmt: skip
        for a in r.attempts_by_date:
            add_row("Follow-up attempts", [number, r.procedure_date, a.timepoint, a.date,
                                           vocab.label(vocab.FOLLOW_UP_RESULTS, a.result), a.note])  # fmt: skip
        count += 1
    _save_book(book, path_handle)
    return count


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """A cell: dates and times as real dates, text that starts with "=" as text (openpyxl would run it)."""
    if isinstance(value, dt.date):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm" if isinstance(value, dt.datetime) else "yyyy-mm-dd"
        return cell
    if isinstance(value, str) and value.startswith("="):
        return _text_cell(sheet, value)
    return value


def header_sheet(book: Any, name: str, columns: Sequence[tuple[str, int]]) -> Any:
    """A new sheet of a write-only workbook: the (title, width) columns' titles in bold, frozen above the rows."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(name)
    sheet.freeze_panes = "A2"
    for i, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    bold = Font(bold=True)
    header = []
    for title, _ in columns:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    return sheet


def _text_cell(sheet: Any, value: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _save_book(book: Any, handle: IO[bytes]) -> None:
    """`book.save`, except that a failure (a full disk) abandons the file quietly instead of leaving openpyxl's
    half-written archive and sheets to print errors when they are garbage-collected."""
    from zipfile import ZIP_DEFLATED, ZipFile

    from openpyxl.writer.excel import ExcelWriter

    archive = ZipFile(handle, "w", ZIP_DEFLATED, allowZip64=True)
    try:
        ExcelWriter(book, archive).save()
    except BaseException:
        for sheet in book.worksheets:
            with contextlib.suppress(Exception):
                sheet.close()
        archive.fp = None  # the file is being thrown away: never write its end record
        raise
