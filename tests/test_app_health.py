"""Issue 9 in the window: the status bar's health button and the events dialog (Ctrl+H) show the
worst verdict standing (at the step the views show), "healthy" only when nothing is wrong; a
diverged run offers "Continue anyway"; a finished run trains N more (the banner, Space, N, a
larger budget in the Training panel)."""

from __future__ import annotations

import numpy as np
import pytest

from gradlab.app.dialogs import EventsDialog
from gradlab.experiment import presets
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

pytestmark = pytest.mark.qt


def edit(win, qtbot, **training):
    """Edit the document's training settings before the first step (rebuilt at once); Max
    speed (the window's default is the lecture pace)."""
    win.max_btn.setChecked(True)
    spec = win.doc_spec
    spec["training"].update(training)
    win._on_spec_edited(spec)

    def same(k, v):
        got = win.run.spec["training"].get(k)
        return (got.get("name") if isinstance(got, dict) else got) == v

    qtbot.waitUntil(lambda: all(same(k, v) for k, v in training.items()), timeout=15000)


def wait_status(win, qtbot, status, timeout=20000):
    qtbot.waitUntil(
        lambda: win.snapshot is not None and win.snapshot.status == status, timeout=timeout
    )
    win._tick(force=True)


# ====================================================================== the verdict shown
def test_cs231n_tanh_001_shows_vanishing_not_healthy(qtbot, settings):  # noqa: F811
    """The lecture's own example of vanishing activations: the window agrees with its plots."""
    win = make_window(qtbot, settings, start=("preset", "cs231n-tanh-0.01"))
    try:  # (the preset's run and its first snapshot: the verdict is the one at its step)
        qtbot.waitUntil(lambda: win.run.name == "cs231n-tanh-0.01" and win.snapshot is not None
                        and win.snapshot.run_id == win.run.run_id, timeout=20000)  # fmt: skip
        win._tick(force=True)
        text = win.health_btn.text()
        assert "healthy" not in text
        assert "vanishing gradients" in text and "+1" in text  # collapse stands too
        tip = win.health_btn.toolTip()
        assert "Nielsen" in tip and "dense1" in tip and "value vs line" in tip
        assert "collapsing activations" in tip  # the other verdict standing

        dlg = EventsDialog(win.run.history.events_copy(), win)
        qtbot.addWidget(dlg)
        assert "vanishing gradients" in dlg.summary.text()
        rows = dlg.row_texts()
        kinds = [r[2] for r in rows]
        assert "vanishing gradients" in kinds and "collapsing activations" in kinds
        vanish = rows[kinds.index("vanishing gradients")]
        assert vanish[1] == "warning · standing"
        assert "dense1" in vanish[3]
        assert " > 5" in vanish[4]  # the value against its line (5x across depth)
        assert "Nielsen" in vanish[5]
        assert "shrinks" in dlg.detail.toPlainText()  # the full sentence of the selected one
    finally:
        stop_window(win)


def test_healthy_only_when_nothing_stands_and_the_verdict_follows_the_timeline(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)  # spiral: healthy
    try:
        win._tick(force=True)
        assert win.health_btn.text() == "✓ healthy"
        spec = win.doc_spec
        spec["probes"] = {"every": 5}
        win._on_spec_edited(spec)
        qtbot.waitUntil(lambda: win.run.experiment.probe_every == 5, timeout=15000)
        win.step_once(20)
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step == 20, timeout=10000)
        h = win.run.history
        assert h.n_probes >= 3
        # a verdict standing from step 20 on (as the rules would add it), then one that ended
        h.add_event(10, "dead", "Dead units in dense1.", layer="dense1", severity="warning",
                    layers=["dense1"], value=0.8, line=0.5, cmp=">", source="CS231n lecture 6")
        h.add_event(15, "dead_over", "Dead units over: back inside the line.", severity="info")
        h.add_event(20, "frozen", "Updates of dense2 are frozen.", layer="dense2",
                    severity="warning", layers=["dense2"], value=1e-8, line=1e-6, cmp="<",
                    source="CS231n lecture 6")
        win._tick(force=True)
        assert "frozen layers" in win.health_btn.text()
        assert "1e-08 &lt; 1e-06" in win.health_btn.toolTip()  # (rich text: escaped)
        # scrubbing to step 10: the dead units stood then, not the frozen layers
        win.timeline.select_step(10)
        win._tick(force=True)
        assert "step 10" in win.health_btn.text() and "dead units" in win.health_btn.text()
        win.timeline.select_step(0)
        win._tick(force=True)
        assert win.health_btn.text() == "step 0: ✓ healthy"
        dlg = EventsDialog(h.events_copy(), win, step=0)
        qtbot.addWidget(dlg)
        assert "healthy" in dlg.summary.text() and "at step 0" in dlg.summary.text()
        win.timeline.select_step(None)
        win._tick(force=True)
        assert win.health_btn.text().startswith("⚠ frozen layers")
        dlg = EventsDialog(h.events_copy(), win)
        qtbot.addWidget(dlg)
        rows = dlg.row_texts()
        assert [r[2] for r in rows] == ["dead units", "dead units over", "frozen layers"]
        assert rows[0][1] == "warning" and rows[2][1] == "warning · standing"
        assert rows[2][4] == "1e-08 < 1e-06"
    finally:
        stop_window(win)


def test_events_from_a_file_are_shown_printable(qtbot):
    evil = "Vanishing \x1b[31mred\x1b[0m \u202etxet.exe"
    events = [{"step": 3, "kind": "vanishing", "severity": "warning", "layer": "dense1\x07",
               "message": evil, "source": "Nielsen\r\nfake line", "value": 9.0, "line": 5.0}]
    dlg = EventsDialog(events)
    qtbot.addWidget(dlg)
    cells = " ".join(" ".join(r) for r in dlg.row_texts())
    shown = cells + dlg.detail.toPlainText() + dlg.summary.text()
    for bad in ("\x1b", "\u202e", "\x07", "\r", "\n"):
        assert bad not in cells
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "\\x1b[31mred" in dlg.detail.toPlainText()
    assert "\\u202e" in dlg.detail.toPlainText()


# ====================================================================== divergence
def test_a_diverged_run_offers_continue_anyway_and_space_does_not_continue(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        # CS231n's rule: the loss far above 3x its start (no NaN needed)
        edit(win, qtbot, optimizer="sgd", lr=1e8)
        win.act_run.trigger()
        wait_status(win, qtbot, "diverged")
        assert win.banner.isVisible() and "diverged at step" in win.banner.text()
        assert "continue" in win.banner.buttons and "reset" in win.banner.buttons
        assert "diverged (loss)" in win.health_btn.text()
        assert "✖" in win.health_btn.text()
        step = win.snapshot.step
        # Space does not continue a diverged run: it points at the banner
        win.act_run.trigger()
        qtbot.waitUntil(lambda: "Continue anyway" in win.statusBar().currentMessage(),
                        timeout=5000)
        qtbot.wait(200)
        assert win.run.experiment.step_count == step and win.snapshot.status == "diverged"
        win.step_once()
        qtbot.wait(200)
        assert win.run.experiment.step_count == step
        # the banner's button continues anyway, and runs
        win.banner.buttons["continue"].click()
        qtbot.waitUntil(lambda: win.snapshot.step > step + 5, timeout=10000)
        assert not win.banner.isVisible() or "diverged" not in win.banner.text()
        events = [e["kind"] for e in win.run.history.events_copy()]
        assert "diverged_over" in events  # continued anyway: the verdict ended, said so
        if win.snapshot.status == "running":
            win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot.status != "running", timeout=5000)
    finally:
        stop_window(win)


# ====================================================================== a finished run
def test_a_finished_run_trains_n_more_with_the_banner_space_and_n(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        edit(win, qtbot, steps=30)
        win.act_run.trigger()
        wait_status(win, qtbot, "done")
        assert win.snapshot.step == 30
        assert win.banner.isVisible() and "budget of 30 steps" in win.banner.text()
        assert win.banner.more_steps() == 30  # as many again, by default
        assert win.banner.buttons["more"].text() == "Train 30 more"
        win.banner.more_box.setValue(20)
        assert win.banner.buttons["more"].text() == "Train 20 more"
        win.banner.buttons["more"].click()
        qtbot.waitUntil(lambda: win.snapshot.step == 50 and win.snapshot.status == "done",
                        timeout=20000)
        assert win.snapshot.total_steps == 50
        assert win.doc.spec["training"]["steps"] == 50  # the Training panel shows it too
        assert win.panels[2].steps.value() == 50
        # Space on a finished run trains N more (the last N)
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot.step == 70 and win.snapshot.status == "done",
                        timeout=20000)
        # N trains one more step
        win.step_once()
        qtbot.waitUntil(lambda: win.snapshot.step == 71, timeout=10000)
        assert win.snapshot.total_steps == 71 and win.snapshot.status == "done"
        # the budget raises are undoable edits of the document
        assert win.doc.undo_stack.undoText() == "Train 1 more step"
        events = [e for e in win.run.history.events_copy() if e["kind"] == "budget"]
        assert [e["step"] for e in events] == [30, 50, 70]
        # 70 steps in one piece equal the pieces (the continued run is the same run)
        assert np.isfinite(win.run.history.steps()["loss"]).all()
        assert len(win.run.history.steps()["loss"]) == 71
    finally:
        stop_window(win)


def test_a_larger_budget_in_the_training_panel_lets_space_run_on(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        edit(win, qtbot, steps=25)
        win.act_run.trigger()
        wait_status(win, qtbot, "done")
        spec = win.doc_spec
        spec["training"]["steps"] = 60
        win._on_spec_edited(spec)  # as the Training panel's Steps field does
        qtbot.waitUntil(lambda: win.snapshot.total_steps == 60, timeout=10000)
        assert win.snapshot.status == "paused" and not win.pending_changes
        win._tick(force=True)
        assert not win.banner.isVisible()  # no longer finished, no Reset needed
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot.step == 60 and win.snapshot.status == "done",
                        timeout=20000)
        # a smaller budget is the next run's: this run keeps its own and says so
        spec = win.doc_spec
        spec["training"]["steps"] = 40
        win._on_spec_edited(spec)
        qtbot.waitUntil(lambda: "keeps its budget" in win.statusBar().currentMessage(),
                        timeout=10000)
        assert win.snapshot.total_steps == 60 and win.run.experiment.step_count == 60
    finally:
        stop_window(win)


def test_a_finished_session_reopened_trains_on(qtbot, settings, tmp_path):  # noqa: F811
    from gradlab.experiment import Experiment, load_session

    exp = Experiment({"data": {"name": "moons", "n": 200}, "training": {"steps": 15}})
    for _ in exp.train():
        pass
    path = exp.save(tmp_path / "finished.gradlab")
    before = path.read_bytes()
    win = make_window(qtbot, settings, start=("file", str(path)))
    try:
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.status == "done"
                        and win.path == path, timeout=20000)
        assert win.banner.isVisible() and "budget of 15 steps" in win.banner.text()
        win.act_run.trigger()  # Space: 15 more
        qtbot.waitUntil(lambda: win.snapshot.step == 30 and win.snapshot.status == "done",
                        timeout=20000)
        assert path.read_bytes() == before  # the file is untouched until saved
        win._save_to(path, wait=True)
        assert load_session(path).step_count == 30
    finally:
        stop_window(win)


def test_the_training_panel_shows_the_divergence_rule(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        field = win.panels[2].run_params.fields["diverge_factor"]
        assert field.value() == 3.0
        assert "CS231n" in field.toolTip()
        assert presets.names()  # the window was built from the presets
    finally:
        stop_window(win)


def test_the_status_bar_names_a_verdict_once(qtbot, settings):  # noqa: F811
    """The status bar's message for a new verdict: "Vanishing gradients: the back-propagated
    gradient shrinks ...", not "Vanishing gradients: Vanishing gradients: ..."."""
    from gradlab.app import health_ui
    from gradlab.experiment import Experiment, health

    exp = Experiment(presets.load("cs231n-tanh-0.01"))
    exp.ensure_initial_probe()
    v = health.verdict(exp.history, exp.step_count)
    text = health_ui.status_message(v)
    label = v.label
    assert text.lower().count(label.lower()) == 1, text
    assert text.startswith(label[0].upper() + label[1:])
