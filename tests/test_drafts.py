"""Draft files: written whole or not at all, and offered back only to the account that typed them."""

from __future__ import annotations

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
