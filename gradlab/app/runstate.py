"""What the window does when a run stops on its own: a divergence and a reached budget (a mixin
of :class:`~gradlab.app.window.MainWindow`).

* **Diverged** (a NaN, or CS231n's loss > ``training.diverge_factor`` x its start): the run is
  paused at its last good state and the banner says where it went bad, with "Continue anyway"
  (:meth:`~gradlab.experiment.Experiment.continue_after_divergence`, then it runs) and "Reset".
  Run (Space) and Step (N) never continue a diverged run without being asked: they point at the
  banner.
* **Finished** (the step budget reached): not a dead end. The banner offers "Train [N] more";
  Space does the same, N trains one more step. Both raise the budget as a document edit
  (``training.steps``, undoable) that the run follows. A larger budget typed in the Training
  panel is followed by the running run too (so Space then runs on); a smaller one is the next
  run's (the worker says so).

Everything here talks to the worker through commands (``continue``, ``set_budget``, ``run``,
``step``), like the rest of the window.
"""

from __future__ import annotations

from gradlab.app.document import BUDGET_COMMAND
from gradlab.app.worker import DIVERGED_HINT, Snapshot
from gradlab.experiment.spec import resolve
from gradlab.safeio import printable

#: the spec fields a started run follows instead of waiting for Reset
FOLLOWED = ("training.lr", "training.steps", "training.epochs")
#: the default N of "Train N more" when the run has no budget to repeat
DEFAULT_MORE = 1000
#: what the divergence banner adds to the run's own sentence
CONTINUE_NOTE = " Continue anyway trains on from here; a lower learning rate and Reset start over."


class RunState:
    """Divergence and finished-run banners, Train N more, Continue anyway (see the module)."""

    _banner_for: str = ""  # "diverged" or "done" while the banner is about that
    _banner_text: str = ""  # the text it was shown with
    _more_n: int | None = None  # the last "Train N more"

    # ------------------------------------------------------------------ snapshots
    def _follow_status(self, previous: Snapshot | None, snap: Snapshot) -> None:
        """A new snapshot: say its message, and show or hide the banner its status asks for."""
        if snap.message and (previous is None or previous.message != snap.message):
            self.statusBar().showMessage(printable(snap.message, 400), 15000)
        was = previous.status if previous is not None else None
        if snap.status == "diverged":
            if was != "diverged":
                self._show_diverged(snap.message)
        elif snap.status == "done":
            if was != "done":
                self._show_finished(snap)
        elif self._banner_for:
            ours = self.banner.text() == self._banner_text  # (not a newer message)
            self._banner_for = ""
            if ours:
                self.banner.setText("")
                if self.pending_changes:
                    self._set_pending(True)

    def _show_diverged(self, message: str = "") -> None:
        exp = self.run.experiment if self.run is not None else None
        if not message and exp is not None and exp.diverged:
            message = exp.diverged.get("message", "")
        self._banner_for = "diverged"
        self._banner_text = printable(message or "The run diverged.", 600) + CONTINUE_NOTE
        self.banner.show_message(
            self._banner_text,
            "error",
            (
                ("continue", "Continue anyway", self.continue_anyway),
                ("reset", "Reset", self.reset),
            ),
        )

    def _show_finished(self, snap: Snapshot) -> None:
        exp = self.run.experiment if self.run is not None else None
        if exp is None or exp.data_error:
            return  # a session that cannot resume: its banner says why
        total = snap.total_steps or snap.step
        text = (
            f"Finished: the run reached its budget of {total:,} steps. Train more to go on "
            "(Space does the same), or change a setting and press Reset."
        )
        if self.pending_changes:
            text += " The spec has changed since the run started: Reset uses it."
        self._banner_for = "done"
        self._banner_text = text
        self.banner.show_message(
            text,
            "info",
            (("reset", "Reset", self.reset),),
            more=self._more_default(snap),
            on_more=self.train_more,
        )

    def _more_default(self, snap: Snapshot) -> int:
        if self._more_n:
            return self._more_n
        return snap.total_steps or DEFAULT_MORE

    # ------------------------------------------------------------------ actions
    def continue_anyway(self) -> None:
        """The diverged banner's button: continue anyway, and run."""
        self._banner_for = ""
        self.banner.setText("")
        self.timeline.select_step(None)
        self.worker.post("continue")

    def train_more(self, n: int, run: bool = True) -> None:
        """Raise the budget to the run's step + ``n`` (an undoable edit of ``training.steps``)
        and run (or take ``n`` steps when ``run`` is False)."""
        snap = self.snapshot
        if snap is None or self.run is None or n < 1:
            return
        total = snap.step + int(n)
        spec = self.doc.spec
        t = spec.setdefault("training", {})
        if isinstance(t, dict):
            t["steps"], t["epochs"] = total, None
            text = f"Train {n:,} more step{'s' if n != 1 else ''}"
            self.doc.edit(spec, text, id_=-1 if run else BUDGET_COMMAND)
        self.worker.post("set_budget", total, None)
        self.timeline.select_step(None)
        if run:
            self._more_n = int(n)
            self._banner_for = ""
            self.banner.setText("")
            self.worker.post("run")
        else:
            self.worker.post("step", int(n))

    # ------------------------------------------------------------------ Space and N
    def _stopped_run(self) -> str:
        """Space's and N's first look at a run that stopped on its own: "diverged" (its banner
        shown, a hint in the status bar: handled), "resume" (finished, and it can train on) or
        "" (not stopped on its own, or it cannot resume: not handled here)."""
        snap = self.snapshot
        if snap is None or self.run is None:
            return ""
        if snap.status == "diverged":
            self._show_diverged(snap.message)
            self.statusBar().showMessage(DIVERGED_HINT, 10000)
            return "diverged"
        if snap.status != "done" or self._cannot_resume():
            return ""
        return "resume"

    def _run_stopped_run(self) -> bool:
        """Space on a run that stopped on its own: True if handled here (a diverged run points
        at its banner; a finished one trains N more)."""
        how = self._stopped_run()
        if how != "resume":
            return how == "diverged"
        snap = self.snapshot
        budget = self._doc_steps()
        if budget is not None and budget > snap.step:
            # the document's larger budget is on its way to the run (set_budget): just run
            self.timeline.select_step(None)
            self.worker.post("run")
            return True
        more = self.banner.more_steps() or self._more_default(snap)
        self.train_more(more)
        return True

    def _step_stopped_run(self, n: int) -> bool:
        """N on a run that stopped on its own: True if handled here (a diverged run points at
        its banner; a finished one takes N more steps)."""
        how = self._stopped_run()
        if how != "resume":
            return how == "diverged"
        self.train_more(n, run=False)
        return True

    def _cannot_resume(self) -> bool:
        exp = self.run.experiment if self.run is not None else None
        return exp is None or bool(exp.data_error)

    # ------------------------------------------------------------------ budget edits
    def _doc_steps(self) -> int | None:
        """The document's step budget (None: epochs, none, or an invalid spec)."""
        try:
            steps = resolve(self.doc.spec)["training"]["steps"]
        except (ValueError, KeyError, TypeError):
            return None
        return steps if isinstance(steps, int) else None

    def _follow_budget(self, spec: dict, exp, error: str) -> None:
        """An edit after the run started: a new ``training.steps`` / ``training.epochs`` goes
        to the run (the worker raises its budget if it is above the run's step)."""
        if error:
            return
        try:
            new = resolve(spec)["training"]
        except (ValueError, KeyError, TypeError):
            return
        old = exp.spec.get("training", {})
        pair = (new.get("steps"), new.get("epochs"))
        if pair != (old.get("steps"), old.get("epochs")):
            self.worker.post("set_budget", *pair)


__all__ = ["DEFAULT_MORE", "FOLLOWED", "RunState"]
