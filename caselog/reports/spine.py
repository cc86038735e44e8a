"""A drawing of the spine (posterior view, C1 to the sacrum) with the treated joints marked on their side.

The skeleton is a reportlab.graphics Drawing (no image files, crisp at any size, labels stay text).
It is the same for every case, so `SpineFigure` stores it once per PDF as a form and reuses it: a
day's summaries then carry one copy of it, and only the red joint marks are drawn per case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Circle, Drawing, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.platypus import Flowable

from caselog import vocab
from caselog.records import TreatedLevel
from caselog.reports.common import ALERT, FONT, FONT_BOLD, MUTED, NAVY

#: The 24 vertebrae above the sacrum; joint i of vocab.LEVELS lies between VERTEBRAE[i] and the next one.
VERTEBRAE: tuple[str, ...] = tuple(level.split("-")[0] for level in vocab.LEVELS)

_BODY_H = {"C": 3.6, "T": 4.2, "L": 6.0}
_BODY_W = {"C": 20.0, "T": 24.0, "L": 32.0}
_GAP = 2.2
_TOP_PAD = 14.0
_SACRUM_H = 18.0
_CAPTION_H = 16.0
_BONE_FILL = colors.HexColor("#E9EDF2")
_BONE_LINE = colors.HexColor("#8D99AB")
_IDLE_JOINT = colors.HexColor("#B9C1CD")
_CX = 66.0
_LABEL_X = 22.0
_MARK_R = 3.4
_FORM = "caselog-spine-skeleton"
_LABEL_LINE = 9.0

#: Vertebrae named beside the drawing: landmarks far enough apart for 8-pt labels (text below 8 pt is unreadable).
LABELLED = frozenset({"C1", "C4", "C7", "T4", "T8", "T12", "L3", "L5"})

WIDTH = 150.0


@dataclass(frozen=True, slots=True)
class _Joint:
    y: float
    left_x: float
    right_x: float


@dataclass(frozen=True, slots=True)
class _Layout:
    height: float
    joints: dict[str, _Joint]
    bodies: tuple[tuple[str, float, float, float], ...]  # name, y, width, height
    sacrum_top: float
    side_label_x: float  # distance of the L/R letters from the midline
    treated_label_x: float


@cache
def _layout() -> _Layout:
    bodies_h = sum(_BODY_H[v[0]] for v in VERTEBRAE)
    height = _TOP_PAD + bodies_h + _GAP * len(VERTEBRAE) + _SACRUM_H + _CAPTION_H
    y = height - _TOP_PAD
    joints: dict[str, _Joint] = {}
    bodies: list[tuple[str, float, float, float]] = []
    for index, name in enumerate(VERTEBRAE):
        body_h, body_w = _BODY_H[name[0]], _BODY_W[name[0]]
        y -= body_h
        bodies.append((name, y, body_w, body_h))
        next_w = _BODY_W[VERTEBRAE[index + 1][0]] if index + 1 < len(VERTEBRAE) else _BODY_W["L"]
        offset = max(body_w, next_w) / 2 + 6
        joints[vocab.LEVELS[index]] = _Joint(y - _GAP / 2, _CX - offset, _CX + offset)
        y -= _GAP
    side = _BODY_W["L"] / 2 + 7
    return _Layout(height, joints, tuple(bodies), y, side, _CX + side + 8)


def skeleton_drawing() -> Drawing:
    """Every vertebra and facet joint, unmarked, with L/R and the caption: the part shared by all cases."""
    lay = _layout()
    drawing = Drawing(WIDTH, lay.height, initialFontName=FONT, initialFontSize=8)
    top = lay.height - _TOP_PAD
    for letter, x in (("L", _CX - lay.side_label_x), ("R", _CX + lay.side_label_x)):
        drawing.add(String(x, top + 5, letter, fontName=FONT_BOLD, fontSize=8, fillColor=NAVY, textAnchor="middle"))
    for name, y, body_w, body_h in lay.bodies:
        drawing.add(
            Rect(_CX - body_w / 2, y, body_w, body_h, rx=1.6, ry=1.6,
                 fillColor=_BONE_FILL, strokeColor=_BONE_LINE, strokeWidth=0.5)
        )  # fmt: skip
        if name in LABELLED:
            drawing.add(
                String(
                    _LABEL_X, y + body_h / 2 - 2.8, name, fontName=FONT, fontSize=8, fillColor=MUTED, textAnchor="end"
                )
            )
    for joint in lay.joints.values():
        for x in (joint.left_x, joint.right_x):
            drawing.add(Circle(x, joint.y, 1.5, fillColor=colors.white, strokeColor=_IDLE_JOINT, strokeWidth=0.5))
    y = lay.sacrum_top
    top_w = _BODY_W["L"] + 4
    drawing.add(
        Polygon(
            [_CX - top_w / 2, y, _CX + top_w / 2, y, _CX + 5, y - _SACRUM_H, _CX - 5, y - _SACRUM_H],
            fillColor=_BONE_FILL, strokeColor=_BONE_LINE, strokeWidth=0.5,
        )
    )  # fmt: skip
    drawing.add(String(_LABEL_X, y - 10, "S1", fontName=FONT, fontSize=8, fillColor=MUTED, textAnchor="end"))
    caption_y = y - _SACRUM_H - 10
    drawing.add(Circle(6, caption_y + 2.2, 3, fillColor=ALERT, strokeColor=colors.white, strokeWidth=0.6))
    drawing.add(String(12, caption_y, "treated joint · posterior view", fontName=FONT, fontSize=8, fillColor=MUTED))
    return drawing


def marked_joints(levels: Sequence[TreatedLevel]) -> list[tuple[str, float, float]]:
    """(level, x, y) of every red mark: one per treated side, on the patient's side in a posterior view.
    Unknown level keys (old data) are left out."""
    lay = _layout()
    marks: list[tuple[str, float, float]] = []
    for lv in levels:
        joint = lay.joints.get(lv.level)
        if joint is None:
            continue
        if lv.side in ("left", "bilateral"):
            marks.append((lv.level, joint.left_x, joint.y))
        if lv.side in ("right", "bilateral"):
            marks.append((lv.level, joint.right_x, joint.y))
    return marks


def label_positions(levels: Sequence[TreatedLevel]) -> list[tuple[str, float]]:
    """(level, baseline) of each treated level's 8-pt label beside its joint, top down, each at least a
    line below the one above: neighbouring cervical joints lie closer together than a line of text."""
    lay = _layout()
    placed: list[tuple[str, float]] = []
    treated = sorted(dict.fromkeys(level for level, _, _ in marked_joints(levels)), key=lambda key: -lay.joints[key].y)
    line = _LABEL_LINE
    if len(treated) > 1:
        # Many treated levels: close the lines up (these labels have no descenders) rather than run off the figure.
        floor = _CAPTION_H + 4
        line = min(line, max(6.5, (lay.joints[treated[0]].y - 2.8 - floor) / (len(treated) - 1)))
    for level in treated:
        y = lay.joints[level].y - 2.8
        if placed:
            y = min(y, placed[-1][1] - line)
        placed.append((level, y))
    return placed


class SpineFigure(Flowable):  # type: ignore[misc]
    """The spine with this case's treated joints marked and labelled."""

    def __init__(self, levels: Sequence[TreatedLevel]) -> None:
        super().__init__()
        self.levels = tuple(levels)
        self.width = WIDTH
        self.height = _layout().height

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return (self.width, self.height)

    def draw(self) -> None:
        canvas = self.canv
        if not canvas.hasForm(_FORM):
            canvas.beginForm(_FORM, 0, 0, self.width, self.height)
            renderPDF.draw(skeleton_drawing(), canvas, 0, 0, showBoundary=False)
            canvas.endForm()
        canvas.doForm(_FORM)
        lay = _layout()
        canvas.saveState()
        canvas.setFillColor(ALERT)
        canvas.setStrokeColor(colors.white)
        canvas.setLineWidth(0.6)
        for _, x, y in marked_joints(self.levels):
            canvas.circle(x, y, _MARK_R, stroke=1, fill=1)
        canvas.setFont(FONT_BOLD, 8)
        for level, y in label_positions(self.levels):
            canvas.drawString(lay.treated_label_x, y, level)
        canvas.restoreState()
