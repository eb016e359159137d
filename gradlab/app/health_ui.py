"""How the window shows a run's health: the worst verdict standing
(:func:`gradlab.experiment.health.verdict`) on the status bar's health button, in the status
bar's message when it changes, and in the events dialog
(:class:`~gradlab.app.dialogs.EventsDialog`).

"healthy" only when no verdict stands. Every kind the headless rules raise (saturation, dead,
symmetric, exploding, vanishing, collapse, frozen, thrashing, stuck, nan, diverged, nonfinite)
shows with its label, its sentence and source, the layers past the line and the number against
the line. The verdict is the one standing at the step the views show (the timeline's), so the
window agrees with its own plots while scrubbing too.

Event texts may come from a session file: every one passes through :func:`gradlab.safeio.printable`
(control characters and bidirectional overrides escaped) and is HTML-escaped where Qt would read
it as rich text (tooltips).
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

from PySide6.QtWidgets import QToolButton

from gradlab.experiment import health
from gradlab.safeio import printable

#: the icons of the severities (text, so they follow the theme's colours)
ICONS = {"ok": "✓", "info": "ℹ", "warning": "⚠", "error": "✖"}
#: longest text of a file shown in one place (a sentence; a name)
MAX_TEXT = 600


def clean(text: Any, limit: int = MAX_TEXT) -> str:
    """Text from a run's history (perhaps a file) made safe to show as plain text."""
    return printable("" if text is None else text, limit)


def rich(text: Any, limit: int = MAX_TEXT) -> str:
    """The same, escaped for a rich-text label or tooltip."""
    return html.escape(clean(text, limit))


def label_of(kind: str) -> str:
    """The short name of a verdict kind ("vanishing gradients", "vanishing gradients over")."""
    if kind.endswith("_over"):
        return f"{health.LABELS.get(kind[:-5], kind[:-5])} over"
    if kind == "budget":
        return "budget"
    return health.LABELS.get(kind, kind)


def number(x: Any) -> str:
    if x is None:
        return ""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return clean(x, 40)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.3g}"


def value_vs_line(ev: dict) -> str:
    """"7.64e+05 > 5": the number that crossed the line, and the line ("" if not recorded)."""
    value, line = ev.get("value"), ev.get("line")
    if value is None and line is None:
        return ""
    cmp = ev.get("cmp") if ev.get("cmp") in (">", "<") else ">"
    if line is None:
        return number(value)
    if value is None:
        return f"line {number(line)}"
    return f"{number(value)} {cmp} {number(line)}"


def layers_of(ev: dict) -> str:
    """The layers past the line, runs of consecutive ones shortened: "dense4–10, output"."""
    layers = ev.get("layers")
    if not isinstance(layers, (list, tuple)) or not layers:
        layers = [ev["layer"]] if ev.get("layer") else []
    parts: list[str] = []
    run: list[tuple[str, int]] = []  # consecutive names "<prefix><n>"

    def flush() -> None:
        if len(run) > 2:
            parts.append(f"{run[0][0]}{run[0][1]}–{run[-1][1]}")
        else:
            parts.extend(f"{p}{n}" for p, n in run)
        run.clear()

    for name in (str(x) for x in layers):
        m = re.fullmatch(r"(\D*?)(\d+)", name)
        if m and run and m.group(1) == run[-1][0] and int(m.group(2)) == run[-1][1] + 1:
            run.append((m.group(1), int(m.group(2))))
            continue
        flush()
        if m:
            run.append((m.group(1), int(m.group(2))))
        else:
            parts.append(name)
    flush()
    return clean(", ".join(parts), 120)


def button_text(v: health.Verdict, step: int | None = None) -> str:
    """The health button: "✓ healthy", "⚠ vanishing gradients +1", "✖ diverged (loss)";
    "at step N: ..." when the views show an earlier step than the newest."""
    where = f"step {step:,}: " if step is not None else ""
    if v.healthy:
        return f"{where}{ICONS['ok']} healthy"
    more = len(v.active) - 1
    return f"{where}{ICONS[v.severity]} {v.label}" + (f" +{more}" if more > 0 else "")


def verdict_html(v: health.Verdict, step: int | None = None, sentence: bool = True) -> str:
    """A tooltip: the worst verdict's sentence, layers, number against its line and source,
    then the other verdicts standing (without the sentence and the "click" line: the events
    dialog's summary, whose table shows the sentence)."""
    when = f"at step {step:,}" if step is not None else "now"
    if v.healthy:
        return (
            f"<b>Healthy {when}</b>: no signal has crossed its line. Click to see every event "
            "of the run (Ctrl+H)."
        )
    ev = v.active[0] if v.active else {}
    parts = [f"<b>{html.escape(v.label)}</b> ({v.severity}, since step {v.step:,})"]
    if sentence:
        parts.append(rich(v.sentence))
    facts = []
    if layers_of(ev):
        facts.append(f"layers: {html.escape(layers_of(ev))}")
    if value_vs_line(ev):
        facts.append(f"value vs line: {html.escape(value_vs_line(ev))}")
    if v.source:
        facts.append(f"source: {rich(v.source, 200)}")
    if facts:
        parts.append("<br>".join(facts))
    others = [label_of(str(e.get("kind", ""))) for e in v.active[1:]]
    if others:
        parts.append("Also standing: " + html.escape(", ".join(others)))
    if sentence:
        parts.append("Click for every event of the run (Ctrl+H).")
    return "<p>" + "</p><p>".join(parts) + "</p>"


def event_key(ev: dict) -> tuple:
    """What tells an event apart (its step, kind and message): to find the standing ones among
    copies."""
    return (ev.get("step"), ev.get("kind"), ev.get("message"))


def severity_color(severity: str, theme) -> str:
    return {"ok": theme.ok, "warning": theme.warning, "error": theme.error}.get(
        severity, theme.muted
    )


def show_on_button(
    button: QToolButton, v: health.Verdict, step: int | None, theme
) -> None:
    """Put verdict ``v`` (standing at ``step``; None: now) on the status bar's health button."""
    button.setText(button_text(v, step))
    bold = "" if v.healthy else " font-weight: bold;"
    button.setStyleSheet(f"color: {severity_color(v.severity, theme)};{bold}")
    button.setToolTip(verdict_html(v, step))
    button.setAccessibleDescription(clean(v.sentence))


def status_message(v: health.Verdict) -> str:
    """The status bar's message when a new worst verdict arises: its sentence, led by its
    label unless the sentence already starts with it ("Saturation: 70% of ...")."""
    sentence = v.sentence.strip()
    if sentence.lower().startswith(v.label.lower()):
        return clean(sentence, 400)
    return clean(f"{v.label[0].upper()}{v.label[1:]}: {sentence}", 400)


__all__ = [
    "ICONS",
    "button_text",
    "clean",
    "label_of",
    "layers_of",
    "rich",
    "show_on_button",
    "status_message",
    "value_vs_line",
    "verdict_html",
]
