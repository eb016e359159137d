"""The strip above the views that says what the run needs from the user, with the buttons that
do it: a divergence ("Continue anyway"), a finished run ("Train N more"), settings that wait for
Reset, a session whose data cannot be rebuilt.

It sits in the central widget's layout above the tabs, so it pushes the views down and never
covers data. Its text is plain text (:meth:`Banner.setText` escapes nothing because nothing is
read as markup), already made printable by the caller when it came from a file.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QWidget,
)

from gradlab.app import theme

#: background of each kind (on black text; the theme's colours are for text on the window)
BACKGROUNDS = {
    "warning": ("#fde293", "#5c4400"),  # (light theme, dark theme)
    "error": ("#f6c4c1", "#5f1d1a"),
    "info": ("#d2e3fc", "#1f3a5f"),
}
#: the largest "Train N more"
MAX_MORE = 10_000_000


class Banner(QFrame):
    """A one-message strip: text, optional buttons, and a close button."""

    #: the user closed the banner with its × (the window may show it again when asked)
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.kind = ""
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 3, 4, 3)
        lay.setSpacing(6)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        lay.addWidget(self.label, 1)
        self.actions_host = QWidget(self)
        self.actions = QHBoxLayout(self.actions_host)
        self.actions.setContentsMargins(0, 0, 0, 0)
        self.actions.setSpacing(6)
        lay.addWidget(self.actions_host, 0, Qt.AlignmentFlag.AlignVCenter)
        self.close_btn = QToolButton(self)
        self.close_btn.setText("×")
        self.close_btn.setAutoRaise(True)
        self.close_btn.setToolTip("Hide this message")
        self.close_btn.clicked.connect(self._dismiss)
        lay.addWidget(self.close_btn, 0, Qt.AlignmentFlag.AlignTop)
        self.buttons: dict[str, QPushButton] = {}
        self.more_box: QSpinBox | None = None
        self._on_more: Callable[[int], None] | None = None
        self.hide()

    # ------------------------------------------------------------------ showing
    def text(self) -> str:
        return self.label.text()

    def setText(self, text: str) -> None:  # (the QLabel-like call the window makes)
        """A warning without buttons ("" hides the banner)."""
        self.show_message(text, "warning")

    def show_message(
        self,
        text: str,
        kind: str = "warning",
        buttons: tuple[tuple[str, str, Callable[[], None]], ...] = (),
        more: int | None = None,
        on_more: Callable[[int], None] | None = None,
    ) -> None:
        """Show ``text`` ("" hides the banner) with ``buttons`` = (key, label, slot) each; with
        ``more``, a "Train [N] more" pair (``on_more(N)``) first."""
        self.kind = kind if text else ""
        self.label.setText(text)
        self._clear_actions()
        if more is not None and on_more is not None:
            box = QSpinBox(self.actions_host)
            box.setRange(1, MAX_MORE)
            box.setGroupSeparatorShown(True)
            box.setValue(max(1, min(int(more), MAX_MORE)))
            box.setAccelerated(True)
            box.setSuffix(" steps")
            box.setMaximumWidth(130)
            box.setToolTip("How many more steps Train (or Space) trains")
            btn = QPushButton(f"Train {box.value():,} more", self.actions_host)
            btn.setDefault(True)
            self.more_box = box
            self.buttons["more"] = btn
            self._on_more = on_more
            btn.clicked.connect(self._more_clicked)
            box.valueChanged.connect(self._more_changed)
            self.actions.addWidget(box)
            self.actions.addWidget(btn)
        for key, label, slot in buttons:
            btn = QPushButton(label, self.actions_host)
            btn.clicked.connect(slot)
            self.actions.addWidget(btn)
            self.buttons[key] = btn
        self.actions_host.setVisible(bool(self.buttons))
        self._restyle()
        self.setVisible(bool(text))

    @Slot(int)
    def _more_changed(self, n: int) -> None:
        if "more" in self.buttons:
            self.buttons["more"].setText(f"Train {n:,} more")

    @Slot()
    def _more_clicked(self) -> None:
        if self.more_box is not None and self._on_more is not None:
            self._on_more(self.more_box.value())

    def more_steps(self) -> int | None:
        """The N of "Train N more" when the banner offers it."""
        return self.more_box.value() if self.more_box is not None and self.isVisible() else None

    def _clear_actions(self) -> None:
        while self.actions.count():
            w = self.actions.takeAt(0).widget()
            if w is not None:
                w.hide()
                w.deleteLater()
        self.buttons = {}
        self.more_box = None

    def _restyle(self) -> None:
        dark = theme.current().name == "dark"
        bg = BACKGROUNDS.get(self.kind or "warning", BACKGROUNDS["warning"])[int(dark)]
        fg = "#e8eaed" if dark else "#202124"
        self.setStyleSheet(
            f"QFrame#banner {{ background: {bg}; border-bottom: 1px solid rgba(0,0,0,40); }}"
            f" QFrame#banner > QLabel {{ color: {fg}; }}"
        )

    def retheme(self) -> None:
        self._restyle()

    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()


__all__ = ["Banner"]
