"""The idle lock: a watcher of keyboard and mouse input across the app, and the screen shown instead of patient data."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFrame, QLabel, QVBoxLayout, QWidget

from caselog.accounts import Actor
from caselog.db.engine import Database
from ui.accounts_dialogs import SignInForm, role_name

_INPUT = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
    }
)


class IdleWatcher(QObject):
    """Emits `idle` after `interval_ms` without keyboard or mouse input anywhere in the application.

    It watches the application's events only while a session runs (`start` to `stop`): a Python filter of every
    event of every object costs at each event, and its first events made PySide create the Python types of
    most of Qt at the app's start (tens of milliseconds before the first page), for nobody to lock.
    """

    idle = Signal()

    def __init__(self, minutes: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.idle)
        self.active = False
        self.set_minutes(minutes)

    def set_minutes(self, minutes: int) -> None:
        self.set_interval_ms(max(minutes, 0) * 60_000)

    def set_interval_ms(self, ms: int) -> None:
        """0 never locks. Tests use a few hundred milliseconds."""
        self.interval_ms = ms
        if ms > 0:
            self._timer.setInterval(ms)
        self._restart()

    def start(self) -> None:
        self.active = True
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)  # once: Qt keeps one entry per filter
        self._restart()

    def stop(self) -> None:
        self.active = False
        self._timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def _restart(self) -> None:
        if self.active and self.interval_ms > 0:
            self._timer.start()
        else:
            self._timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.active and event.type() in _INPUT:
            self._timer.start()
        return False


PANEL_WIDTH = 500


class LockScreen(QWidget):
    """Shown in place of every window's content. The same user unlocks; someone else starts their own session."""

    signed_in = Signal(object)  # Actor

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("CaseLog is locked")
        self.title = QLabel()
        self.title.setObjectName("greetingTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel()
        self.text.setObjectName("greetingText")
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setStyleSheet("font-size: 10pt;")
        self.form = SignInForm(db)
        self.form.signed_in.connect(self.signed_in)
        panel = QFrame()
        panel.setObjectName("lockPanel")
        panel.setFrameShape(QFrame.Shape.StyledPanel)
        panel.setFixedWidth(PANEL_WIDTH)
        inner = QVBoxLayout(panel)
        inner.setContentsMargins(28, 24, 28, 20)
        inner.setSpacing(10)
        inner.addWidget(self.title)
        inner.addWidget(self.text)
        inner.addSpacing(6)
        inner.addWidget(self.form)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(panel, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.setStyleSheet("QFrame#lockPanel { background: palette(base); border: 1px solid palette(mid); }")

    def show_locked(self, actor: Actor, *, idle: bool) -> None:
        self.title.setText("CaseLog is locked")
        why = "after a while without input" if idle else "on request"
        self.text.setText(
            f"Patient data is hidden {why}. {actor.full_name} ({role_name(actor.role)}) signs in again to go on."
            f"\n\nSomeone else signing in ends {actor.full_name}'s session; their unsaved forms are kept as drafts."
        )
        self._fit_text()
        self.form.reset(actor.username)

    def _fit_text(self) -> None:
        # A wrapped label in a fixed-width panel is not given its height by the layout: say it outright.
        self.text.setFixedHeight(self.text.heightForWidth(PANEL_WIDTH - 56) + 4)

    def show_signed_out(self) -> None:
        self.title.setText("Signed out")
        self.text.setText("Nobody is signed in. Sign in to work with CaseLog.")
        self._fit_text()
        self.form.reset("")
