"""Unsaved case forms kept as files, so a crash or power cut loses nothing; the desktop app restores them.

A draft file holds what the form held (a partial CASE object, possibly invalid) and, for an edit, which
case and version it started from. Files live in `paths.data_dir() / "drafts"` and are written atomically.

A draft holds a patient's name and MRN: while the database is encrypted, so are its drafts (Fernet from the
`cryptography` package, with a key derived from the database's own), and a draft that the open database's
key cannot read is left alone rather than shown.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from caselog import paths
from caselog.db import cipher
from caselog.db.engine import Database
from caselog.files import private_folder, temporary_beside

if TYPE_CHECKING:  # cryptography loads with the first encrypted database's drafts, not with every start
    from cryptography.fernet import Fernet

DRAFTS_FOLDER = "drafts"
#: An encrypted draft's file starts with this line, then the Fernet token.
SEALED_MARK = b"caselog-draft-sealed-1\n"
_protection: Fernet | None = None


def protect_with(db: Database) -> None:
    """Encrypt this process's drafts while `db` is an encrypted database (plain ones: plain drafts)."""
    global _protection
    _protection = None
    path = db.sqlite_path
    if path is None or not db.encrypted:
        return
    found = cipher.known_passphrase(path)
    if found is not None:
        _protection = protection_for(path, found[0])


def protection_for(path: Path, passphrase: str | None) -> Fernet | None:
    """The drafts' key for the database file `path` as it is now (None: a plain database, plain drafts)."""
    if passphrase is None:
        return None
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"caselog drafts").derive(
        cipher.file_key(path, passphrase)
    )
    return Fernet(base64.urlsafe_b64encode(key))


def reseal(old: Fernet | None, new: Fernet | None) -> int:
    """After `caselog encrypt` or `rekey`: the drafts `old` reads (None: the plain ones) are written again under
    `new`, so they are neither lost with the old key nor left readable beside an encrypted database."""
    folder = drafts_dir()
    count = 0
    for file in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            content = file.read_bytes()
            if content.startswith(SEALED_MARK):
                if old is None:
                    continue
                text = _opened(old, content)
            elif old is None:
                text = content
            else:
                continue
        except (OSError, ValueError):
            continue  # another database's draft, or one being written: left as it is
        _write(file, text if new is None else SEALED_MARK + new.encrypt(text))
        count += 1
    return count


def _opened(key: Fernet, content: bytes) -> bytes:
    """A sealed draft's text; ValueError when `key` does not open it (another database's draft, or a damaged one)."""
    from cryptography.fernet import InvalidToken

    try:
        return key.decrypt(content[len(SEALED_MARK) :])
    except InvalidToken as exc:
        raise ValueError("the draft's key does not open it") from exc


def _write(target: Path, content: bytes) -> None:
    """Replace the file atomically: the old copy stays whole until the new one is complete."""
    with temporary_beside(target) as (fd, tmp), os.fdopen(os.dup(fd), "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
        os.replace(tmp, target)


def drafts_protected() -> bool:
    return _protection is not None


@dataclass(frozen=True, slots=True)
class FormDraft:
    """One unsaved form: its id (the file's stem), the form's data and what it was editing, if anything."""

    draft_id: str
    data: dict[str, Any]
    saved_at: dt.datetime
    case_number: str | None = None
    expected_version: int | None = None
    #: The account that typed it (None in a database without accounts): drafts hold patient data.
    owner: str | None = None

    @property
    def description(self) -> str:
        """A line a person recognises the draft by: patient, procedure date, when it was last typed in."""
        patient = self.data.get("patient")
        who = ""
        if isinstance(patient, dict):
            names = [str(patient.get(k) or "").strip() for k in ("family_name", "given_name")]
            who = ", ".join(n for n in names if n)
            mrn = str(patient.get("mrn") or "").strip()
            if mrn:
                who = f"{who} (MRN {mrn})" if who else f"MRN {mrn}"
        what = f"changes to case {self.case_number}" if self.case_number else "a new case"
        return f"{what}{' for ' + who if who else ''}, last typed {self.saved_at:%Y-%m-%d %H:%M}"


def drafts_dir() -> Path:
    return paths.data_dir() / DRAFTS_FOLDER


def new_draft_id() -> str:
    return uuid.uuid4().hex


def draft_path(draft_id: str) -> Path:
    return drafts_dir() / f"{draft_id}.json"


def save_draft(
    draft_id: str,
    data: dict[str, Any],
    *,
    case_number: str | None = None,
    expected_version: int | None = None,
    owner: str | None = None,
    now: dt.datetime | None = None,
) -> Path:
    """Write (or replace) one draft atomically: the old copy stays whole until the new one is complete."""
    private_folder(drafts_dir())
    payload = {
        "saved_at": (now or dt.datetime.now()).isoformat(timespec="seconds"),
        "case_number": case_number,
        "expected_version": expected_version,
        "owner": owner,
        "data": data,
    }
    target = draft_path(draft_id)
    text = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    _write(target, text if _protection is None else SEALED_MARK + _protection.encrypt(text))
    return target


def load_draft(path: Path) -> FormDraft | None:
    """One draft file, or None when it is unreadable (a half-written file never replaces a good one)."""
    try:
        content = path.read_bytes()
        if content.startswith(SEALED_MARK):
            if _protection is None:
                return None  # another (encrypted) database's draft: not ours to show
            content = _opened(_protection, content)
        raw = json.loads(content.decode("utf-8"))
        data = raw["data"]
        saved_at = dt.datetime.fromisoformat(raw["saved_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    number = raw.get("case_number")
    version = raw.get("expected_version")
    owner = raw.get("owner")
    return FormDraft(
        draft_id=path.stem,
        data=data,
        saved_at=saved_at,
        case_number=number if isinstance(number, str) else None,
        expected_version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        owner=owner if isinstance(owner, str) else None,
    )


def pending_drafts(owner: str | None = None) -> list[FormDraft]:
    """The drafts left behind for this account (and those typed before accounts existed), newest first."""
    folder = drafts_dir()
    if not folder.is_dir():
        return []
    found = [d for d in (load_draft(p) for p in folder.glob("*.json")) if d is not None]
    found = [d for d in found if d.owner is None or d.owner == owner]
    return sorted(found, key=lambda d: d.saved_at, reverse=True)


def discard_draft(draft_id: str) -> None:
    draft_path(draft_id).unlink(missing_ok=True)
