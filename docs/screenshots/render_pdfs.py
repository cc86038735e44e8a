"""Renders one page of each PDF of the patient's pathway (issue 14) to PNG files in this folder:
`python docs/screenshots/render_pdfs.py` (needs poppler's pdftoppm).

Writes pdf-pathway.png (page 1 of the patient pathway of a 40-case patient with a long name),
pdf-summary-block.png (a medial branch block's summary) and pdf-summary-indication.png (an ablation's summary,
the page with its Indication check). The cases are the report tests' hand-built ones, so the pages are stable.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))


def page_png(pdf: Path, page: int, name: str) -> None:
    """Page `page` of `pdf` as HERE/name, at 100 dpi."""
    target = HERE / name
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", str(page), "-l", str(page), "-singlefile", str(pdf),
                    str(target.with_suffix(""))], check=True)  # fmt: skip
    print(f"wrote {target}")


def main() -> int:
    from caselog.reports.pathway import write_patient_pathway
    from caselog.reports.summary import write_case_summaries
    from tests.test_reports_pathway import (
        GENERATED,
        SETTINGS,
        block_view,
        long_history,
        pathway_of,
        two_blocks_then_ablation,
    )

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        views = long_history(40, family="Wolfeschlegelsteinhausenbergerdorff-Hernández y Montenegro de la Cruz",
                             given="Maria-Guadalupe Alejandra Esperanza")  # fmt: skip
        write_patient_pathway(pathway_of(views), out / "pathway.pdf", settings=SETTINGS, generated_at=GENERATED)
        page_png(out / "pathway.pdf", 1, "pdf-pathway.png")

        block = block_view(procedure_detail=None, cpt_codes=("64493", "64494"))
        write_case_summaries([block], out / "block.pdf", settings=SETTINGS, generated_at=GENERATED,
                             pathways=[pathway_of([block])])  # fmt: skip
        page_png(out / "block.pdf", 1, "pdf-summary-block.png")

        reason = "Second block at L5-S1 refused by the patient; the payer agreed by letter."
        history = two_blocks_then_ablation(outside_policy_reason=reason)
        write_case_summaries(history[2:], out / "ablation.pdf", settings=SETTINGS, generated_at=GENERATED,
                             pathways=[pathway_of(history)])  # fmt: skip
        page_png(out / "ablation.pdf", 1, "pdf-summary-indication.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
