"""Draft files: written whole or not at all, and offered back only to the account that typed them."""

from __future__ import annotations

import os
from pathlib import Path

from caselog import drafts


def test_drafts_round_trip_and_belong_to_their_author() -> None:
    drafts.save_draft("a", {"notes": "Łukasik"}, owner="okafor")
    drafts.save_draft("b", {"notes": "before accounts"})
    drafts.save_draft("c", {"notes": "colleague"}, owner="raman", case_number="2025-00001", expected_version=3)
    mine = {d.draft_id: d for d in drafts.pending_drafts("okafor")}
    assert set(mine) == {"a", "b"} and mine["a"].data == {"notes": "Łukasik"} and mine["a"].owner == "okafor"
    theirs = {d.draft_id: d for d in drafts.pending_drafts("raman")}
    assert set(theirs) == {"b", "c"} and (theirs["c"].case_number, theirs["c"].expected_version) == ("2025-00001", 3)
    assert {d.draft_id for d in drafts.pending_drafts()} == {"b"}
    assert drafts.draft_path("a").stat().st_mode & 0o777 == 0o600


def test_an_unreadable_draft_is_skipped() -> None:
    drafts.save_draft("good", {"notes": "x"})
    (drafts.drafts_dir() / "broken.json").write_text("{half", encoding="utf-8")
    assert [d.draft_id for d in drafts.pending_drafts()] == ["good"]


def test_drafts_of_an_encrypted_database_are_encrypted_too(tmp_path: Path) -> None:
    """A stolen laptop must not give away the patient typed into a form that was never saved."""
    from caselog.db import cipher
    from caselog.db.schema import open_database

    secret = {"patient": {"mrn": "MRN-DRAFT-5531", "family_name": "Oyelaran"}}
    encrypted_path = tmp_path / "clinic.sqlite3"
    cipher.remember(encrypted_path, "a passphrase for the drafts test")
    encrypted = open_database(encrypted_path)
    plain_path = tmp_path / "plain.sqlite3"
    plain = open_database(plain_path) if cipher.file_state(plain_path) == "new" and not os.environ.get(
        cipher.KEY_ENV) else None  # fmt: skip
    try:
        drafts.protect_with(encrypted)
        assert drafts.drafts_protected()
        written = drafts.save_draft("sealed", secret)
        raw = written.read_bytes()
        assert b"MRN-DRAFT-5531" not in raw and b"Oyelaran" not in raw
        assert [d.data for d in drafts.pending_drafts()] == [secret]
        if plain is not None:  # another, plain database open: the sealed draft is not shown
            drafts.protect_with(plain)
            assert not drafts.drafts_protected() and drafts.pending_drafts() == []
        other_path = tmp_path / "other.sqlite3"
        cipher.remember(other_path, "another database's passphrase")
        other = open_database(other_path)
        try:
            drafts.protect_with(other)  # another encrypted database: its key cannot read it either
            assert drafts.drafts_protected() and drafts.pending_drafts() == []
        finally:
            other.close()
    finally:
        drafts.protect_with(encrypted)
        drafts.discard_draft("sealed")
        encrypted.close()
        if plain is not None:
            plain.close()
        drafts._protection = None
