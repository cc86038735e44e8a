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
from pathlib import Path
from typing import IO, Any

from caselog import vocab
from caselog.bulk import cyclic_gc_paused
from caselog.errors import InvalidInput
from caselog.files import size_text, temporary_beside, write_error
from caselog.records import CaseView, case_to_contract
from caselog.validation import FORMAT_NAME, FORMAT_VERSION, Problem

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
    """Load an interchange file; every way it can be unreadable becomes one clear InvalidInput.

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
        raise InvalidInput([Problem(where, f"is not a regular file ({_kind(mode)}); give a .json file")])
    with os.fdopen(fd, "rb") as handle:
        if os.name == "posix":
            os.set_blocking(fd, True)
        try:
            raw = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise InvalidInput([Problem(where, f"cannot be read: {exc.strerror or exc}")]) from None
    return parse_interchange(raw, where)


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
        if data.get("version") != FORMAT_VERSION:
            problems.append(Problem("version", f"must be {FORMAT_VERSION}, not {data.get('version')!r}"))
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


CSV_COLUMNS = [
    "case_number", "status", "procedure_date", "mrn", "family_name", "given_name", "birth_date", "sex",
    "age_at_procedure", "facility", "surgeon", "assistants", "procedure", "procedure_detail", "levels",
    "level_count", "cpt_codes", "diagnosis_codes", "indication", "injury_related", "prior_block_relief_percent",
    "start_time", "end_time", "duration_minutes", "anesthesia_type", "sedation", "asa_class", "emergency",
    "anesthesia_provider", "estimated_blood_loss_ml", "disposition", "complication_count", "worst_clavien_dindo",
    "outcome_timepoints", "notes", "referring_physician", "copy_to",
]  # fmt: skip

# A spreadsheet runs a cell that starts with these as a formula; free text gets a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(value: str | None) -> str:
    if not value:
        return ""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _csv_row(view: CaseView) -> list[Any]:
    r = view.record
    p = r.patient
    a = r.anesthesia
    return [
        view.case_number, r.status, r.procedure_date.isoformat(), _safe_text(p.mrn), _safe_text(p.family_name),
        _safe_text(p.given_name), p.birth_date.isoformat(), p.sex, p.age_on(r.procedure_date),
        _safe_text(r.facility), _safe_text(r.surgeon), _safe_text("; ".join(r.assistants)), r.procedure,
        _safe_text(r.procedure_detail), r.levels_text, len(r.levels), " ".join(r.cpt_codes),
        " ".join(r.diagnosis_codes), _safe_text(r.indication), "yes" if r.injury_related else "no",
        "" if r.prior_block_relief_percent is None else r.prior_block_relief_percent,
        r.start_time.strftime("%Y-%m-%d %H:%M") if r.start_time else "",
        r.end_time.strftime("%Y-%m-%d %H:%M") if r.end_time else "", r.duration_minutes, a.type, a.sedation or "",
        a.asa_text, "yes" if a.emergency else "no", _safe_text(a.provider),
        "" if r.estimated_blood_loss_ml is None else r.estimated_blood_loss_ml, r.disposition,
        len(r.complications), r.worst_grade or "", " ".join(o.timepoint for o in r.outcomes), _safe_text(r.notes),
        _safe_text(r.referring_physician), _safe_text("; ".join(r.copy_to)),
    ]  # fmt: skip


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
    """Sheets Cases, Levels, Complications and Outcomes, with real date cells, a frozen header and widths."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheets: dict[str, Any] = {}
    layouts: dict[str, list[tuple[str, int]]] = {
        "Cases": [
            ("Case number", 13), ("Status", 9), ("Procedure date", 13), ("MRN", 12), ("Family name", 20),
            ("Given name", 16), ("Birth date", 12), ("Sex", 8), ("Age", 6), ("Facility", 20), ("Surgeon", 20),
            ("Procedure", 30), ("Procedure detail", 24), ("Levels", 28), ("CPT codes", 16), ("ICD-10 codes", 16),
            ("Injury related", 8), ("Prior block relief %", 10), ("Start", 17), ("End", 17), ("Duration (min)", 9),
            ("Anesthesia", 26), ("Sedation", 10), ("ASA", 6), ("Blood loss (ml)", 9), ("Disposition", 22),
            ("Complications", 8), ("Worst Clavien-Dindo", 9), ("Notes", 40), ("Referring physician", 30),
            ("Copy to", 30),
        ],
        "Levels": [("Case number", 13), ("Procedure date", 13), ("Level", 9), ("Side", 10), ("Procedure", 30)],
        "Complications": [
            ("Case number", 13), ("Procedure date", 13), ("Category", 34), ("Description", 30), ("Timing", 14),
            ("Onset date", 12), ("Clavien-Dindo", 8), ("Treatment", 30), ("Resolved date", 12), ("Review status", 12),
        ],
        "Outcomes": [
            ("Case number", 13), ("Procedure date", 13), ("Timepoint", 10), ("Date", 12), ("NRS back", 8),
            ("NRS leg", 8), ("ODI", 6), ("Relief %", 8),
        ],
    }  # fmt: skip
    for name, columns in layouts.items():
        sheets[name] = header_sheet(book, name, columns)

    def dated(value: dt.date | dt.datetime | None, fmt: str = "yyyy-mm-dd") -> Any:
        if value is None:
            return None
        cell = WriteOnlyCell(sheets["Cases"], value=value)
        cell.number_format = fmt
        return cell

    def add_row(sheet_name: str, values: list[Any]) -> None:
        # openpyxl writes text starting with "=" as a formula: user text is marked as text instead.
        sheet = sheets[sheet_name]
        sheet.append([_text_cell(sheet, v) if isinstance(v, str) and v.startswith("=") else v for v in values])

    count = 0
    for view in cases:
        r = view.record
        p = r.patient
        a = r.anesthesia
        number = view.case_number
        add_row("Cases", [
            number, vocab.label(vocab.CASE_STATUSES, r.status), dated(r.procedure_date), p.mrn, p.family_name,
            p.given_name, dated(p.birth_date), p.sex, p.age_on(r.procedure_date), r.facility, r.surgeon,
            r.procedure_label, r.procedure_detail, r.levels_text, " ".join(r.cpt_codes), " ".join(r.diagnosis_codes),
            "yes" if r.injury_related else "no", r.prior_block_relief_percent,
            dated(r.start_time, "yyyy-mm-dd hh:mm"), dated(r.end_time, "yyyy-mm-dd hh:mm"), r.duration_minutes,
            vocab.label(vocab.ANESTHESIA_TYPES, a.type), a.sedation, a.asa_text or None, r.estimated_blood_loss_ml,
            vocab.label(vocab.DISPOSITIONS, r.disposition), len(r.complications), r.worst_grade, r.notes,
            r.referring_physician, "; ".join(r.copy_to) or None,
        ])  # fmt: skip
        for lv in r.levels:
            add_row("Levels", [number, dated(r.procedure_date), lv.level, lv.side, r.procedure_label])
        for c in r.complications:
            add_row("Complications", [
                number, dated(r.procedure_date), vocab.label(vocab.COMPLICATION_CATEGORIES, c.category),
                c.description, c.timing, dated(c.onset_date), c.clavien_dindo, c.treatment, dated(c.resolved_date),
                vocab.label(vocab.REVIEW_STATUSES, c.review_status),
            ])  # fmt: skip
        for o in r.outcomes:
            add_row(
                "Outcomes",
                [number, dated(r.procedure_date), o.timepoint, dated(o.date), o.nrs_back, o.nrs_leg, o.odi,
                 o.relief_percent]
            )  # fmt: skip
        count += 1
    _save_book(book, path_handle)
    return count


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
