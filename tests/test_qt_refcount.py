"""Guard against the PySide6 6.12.0 bug on Python 3.11: every void-returning QPainter call
decremented the refcount of None (1,000 drawLine calls moved it by -996), and after about a
second of pyqtgraph drawing the interpreter aborted with "Fatal Python error: none_dealloc".
pyproject pins PySide6-Essentials < 6.12; this test lets a future upgrade be tried safely."""

from __future__ import annotations

import sys

from PySide6.QtCore import QLineF
from PySide6.QtGui import QImage, QPainter


def test_ten_thousand_void_painter_calls_leave_the_refcount_of_none_alone(qapp):
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    try:
        before = sys.getrefcount(None)
        for i in range(10_000):
            painter.drawLine(QLineF(0, i % 64, 63, 63 - i % 64))
        after = sys.getrefcount(None)
    finally:
        painter.end()
    # other threads may take or drop a few references meanwhile; the bug drops ~10,000
    assert after >= before - 50, f"refcount of None fell by {before - after} over 10,000 calls"
    assert image.pixel(0, 0) != 0  # the lines were really drawn
