"""The Training panel: optimiser and its hyper-parameters, schedule, budget, batch size, loss,
regularisation and clipping, the probes, the seed and the precision.

Model -> UI: :meth:`TrainingPanel.set_spec` shows ``spec["training"]``, ``spec["probes"]``,
``seed`` and ``dtype`` with signals blocked. UI -> model: a committed field sets its own key in a
copy of the spec and the panel emits it; keys the panel does not show are left as they are.

Spec conventions: the learning rate lives at ``training.lr``; the optimiser at
``training.optimizer`` as ``{"name": ..., params}`` (its own hyper-parameters rebuild when the
optimiser changes, carrying over the ones they share: momentum between momentum and nesterov,
β₁ β₂ ε between adam and adamw); the budget is ``training.steps`` or ``training.epochs`` (never
both; neither = until stopped); clipping is ``null``, ``{"norm": c}`` or ``{"value": c}``.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from gradlab.app.panels.base import SpecPanel
from gradlab.app.panels.forms import (
    AutoIntField,
    ComboBox,
    FloatSpinBox,
    LogField,
    ParamField,
    ParamForm,
    align_labels,
    blocked,
    mark_error,
    muted,
    retint,
    scrolling_body,
    section,
)
from gradlab.engine import losses, optimizers, schedules
from gradlab.errors import SpecError
from gradlab.experiment.spec import DEFAULT_PROBES, DEFAULT_TRAINING
from gradlab.experiment.spec import resolve as resolve_spec
from gradlab.params import Param

P_STEPS = Param("steps", "int", 1000, "Train for this many updates (batches).", minimum=0)
P_EPOCHS = Param(
    "epochs",
    "float",
    10.0,
    "Train for this many passes over the training set.",
    exclusive_minimum=0.0,
)
P_BATCH = Param(
    "batch_size",
    "int",
    32,
    "Examples per gradient step: smaller batches give noisier gradients and more steps per epoch.",
    minimum=1,
)
P_L1 = Param(
    "l1", "float", 0.0, "L1 penalty λ₁·Σ|w| on the weights (drives weights to 0).", minimum=0.0
)
P_L2 = Param("l2", "float", 0.0, "L2 penalty ½·λ₂·Σw² on the weights (weight decay).", minimum=0.0)
P_MAX_NORM = Param(
    "max_norm",
    "float",
    None,
    "Max-norm constraint: after each step, rescale every unit's incoming weight vector to "
    "norm ≤ c (Srivastava et al. used 3-4 with dropout).",
    exclusive_minimum=0.0,
    optional=True,
)
P_BINS = Param(
    "bins", "int", 50, "Histogram bins of the probed distributions.", minimum=4, maximum=1000
)
P_JACOBIAN = Param(
    "jacobian_every",
    "int",
    10,
    "Measure the layer-to-layer Jacobian's singular values every N probes (0 = never; it is "
    "the costliest statistic).",
    minimum=0,
)
P_PROBE_BATCH = Param(
    "batch",
    "int",
    512,
    "Examples of the fixed probe batch the statistics are measured on.",
    minimum=1,
)
P_SEED = Param(
    "seed",
    "int",
    0,
    "Seeds the data, the initial weights, the batch order and dropout: the "
    "same seed gives the same run.",
    minimum=0,
)
CLIP_CHOICES = [
    ("none", None, "No gradient clipping."),
    (
        "by global norm",
        "norm",
        "Rescale the whole gradient so its global L2 norm is at most the threshold "
        "(Pascanu et al.).",
    ),
    ("by value", "value", "Clip every gradient entry to [-threshold, threshold]."),
]
LR_HELP = (
    "Learning rate η: the size of each step (Up/Down step by a quarter decade). The schedule "
    "starts from it."
)
DTYPES = [
    ("float32", "Single precision: fast, what GPUs train in."),
    ("float64", "Double precision: slower; for gradient checks and very deep nets."),
]
SECTION_PREFIXES = ("training", "probes", "seed", "dtype")


def named(value: Any) -> tuple[str, dict]:
    """``"adam"`` or ``{"name": "adam", "beta1": 0.8}`` -> ("adam", {"beta1": 0.8})."""
    if isinstance(value, dict):
        params = dict(value)
        return str(params.pop("name", "")), params
    return (str(value) if value is not None else ""), {}


def lr_default(opt: str) -> float:
    try:
        cls = optimizers.info(opt)
    except SpecError:
        return 0.01
    return next((p.default for p in cls.params if p.name == "lr"), 0.01)


class TrainingPanel(SpecPanel):
    """Optimiser, schedule, budget, loss and regularisation, probes, seed and dtype."""

    title = "Training"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._errors: list[str] = []
        self._memory_steps = P_STEPS.default
        self._memory_epochs = P_EPOCHS.default

        self.scroll_area, body, lay = scrolling_body(self)
        self.forms: list[QFormLayout] = []

        # -- optimiser
        box, form = self._section("Optimisation", body, lay)
        self.optimizer = ComboBox(box)
        for name in optimizers.names():
            self.optimizer.add_item(name, name, optimizers.info(name).description)
        self.optimizer.setToolTip("The update rule (hover an item for its formula)")
        self.optimizer.activated.connect(self._on_optimizer)
        form.addRow("Optimiser", self.optimizer)
        self.opt_note = self._note(box)
        form.addRow(self.opt_note)
        self.lr = LogField(box, minimum=1e-8, maximum=10.0)
        self.lr.setToolTip(LR_HELP)
        self.lr.valueCommitted.connect(self._on_lr)
        form.addRow(self._label("Learning rate", LR_HELP, box), self.lr)
        self.opt_params = ParamForm(
            form,
            "training.optimizer",
            box,
            steps={"beta1": 0.01, "beta2": 0.001, "momentum": 0.01, "rho": 0.01},
            decades=("weight_decay",),
        )
        self.opt_params.edited.connect(self._on_opt_param)

        # -- schedule
        box, form = self._section("Learning-rate schedule", body, lay)
        self.schedule = ComboBox(box)
        for name in schedules.names():
            self.schedule.add_item(name, name, schedules.info(name).description)
        self.schedule.setToolTip("How the learning rate changes with the step")
        self.schedule.activated.connect(self._on_schedule)
        form.addRow("Schedule", self.schedule)
        self.sched_note = self._note(box)
        form.addRow(self.sched_note)
        self.sched_params = ParamForm(
            form,
            "training.schedule",
            box,
            decades=("min_lr", "threshold"),
            fills={"total_steps": 1000},
        )
        self.sched_params.edited.connect(self._on_sched_param)

        # -- budget
        box, form = self._section("Budget", body, lay)
        radios = QWidget(box)
        rl = QHBoxLayout(radios)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(10)
        self.budget = QButtonGroup(self)
        self.radio = {}
        for mode, text, tip in (
            ("steps", "Steps", "Stop after a number of updates."),
            ("epochs", "Epochs", "Stop after a number of passes over the training set."),
            ("none", "Until stopped", "Train until you press Pause."),
        ):
            rb = QRadioButton(text, radios)
            rb.setToolTip(tip)
            self.budget.addButton(rb)
            self.radio[mode] = rb
            rl.addWidget(rb)
        rl.addStretch(1)
        self.budget.buttonToggled.connect(self._on_budget_toggled)
        form.addRow(radios)
        self.steps = ParamField(P_STEPS, "training.steps", box)
        self.steps.editor.setSingleStep(100)
        self.epochs = ParamField(P_EPOCHS, "training.epochs", box, step=1.0)
        self.steps.committed.connect(lambda: self._on_budget_value("steps"))
        self.epochs.committed.connect(lambda: self._on_budget_value("epochs"))
        form.addRow(self._label("Steps", P_STEPS.help, box), self.steps)
        form.addRow(self._label("Epochs", P_EPOCHS.help, box), self.epochs)
        self.batch_size = ParamField(P_BATCH, "training.batch_size", box)
        self.batch_size.committed.connect(
            lambda: self._set("training", "batch_size", self.batch_size.value())
        )
        form.addRow(self._label("Batch size", P_BATCH.help, box), self.batch_size)
        eval_help = (
            "Measure the train and validation loss and accuracy every N steps (auto: about once "
            "an epoch, between 20 and 500 steps)."
        )
        self.eval_every = AutoIntField("training.eval_every", eval_help, box, default=100)
        self.eval_every.committed.connect(
            lambda: self._set("training", "eval_every", self.eval_every.value())
        )
        form.addRow(self._label("Evaluate every", eval_help, box), self.eval_every)

        # -- loss and regularisation
        box, form = self._section("Loss && regularisation", body, lay)
        self.loss = ComboBox(box)
        for name in losses.names():
            self.loss.add_item(name, name, losses.REGISTRY.get(name).description)
        self.loss.setToolTip("The cost minimised (hover an item for its formula)")
        self.loss.activated.connect(
            lambda _i: self._set("training", "loss", self.loss.currentData())
        )
        form.addRow("Loss", self.loss)
        self.l1 = ParamField(P_L1, "training.l1", box, step=1e-5, decades=True)
        self.l2 = ParamField(P_L2, "training.l2", box, step=1e-5, decades=True)
        self.l1.committed.connect(lambda: self._set("training", "l1", self.l1.value()))
        self.l2.committed.connect(lambda: self._set("training", "l2", self.l2.value()))
        form.addRow(self._label("L1 λ₁", P_L1.help, box), self.l1)
        form.addRow(self._label("L2 λ₂", P_L2.help, box), self.l2)
        self.max_norm = ParamField(P_MAX_NORM, "training.max_norm", box, step=0.5, fill=3.0)
        self.max_norm.committed.connect(
            lambda: self._set("training", "max_norm", self.max_norm.value())
        )
        form.addRow(self._label("Max-norm c", P_MAX_NORM.help, box), self.max_norm)
        clip_row = QWidget(box)
        cl = QHBoxLayout(clip_row)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(4)
        self.clip_kind = ComboBox(clip_row)
        self.clip_kind.setMinimumContentsLength(6)
        for text, data, tip in CLIP_CHOICES:
            self.clip_kind.add_item(text, data, tip)
        clip_help = "Gradient clipping: " + " ".join(t for _x, _d, t in CLIP_CHOICES[1:])
        self.clip_kind.setToolTip(clip_help)
        self.clip_value = FloatSpinBox(clip_row, step=0.5)
        self.clip_value.setValue(5.0)
        self.clip_value.setToolTip("The clipping threshold c (> 0)")
        self.clip_kind.activated.connect(lambda _i: self._on_clip())
        self.clip_value.valueChanged.connect(lambda _v: self._on_clip())
        cl.addWidget(self.clip_kind, 3)
        cl.addWidget(self.clip_value, 2)
        form.addRow(self._label("Clip", clip_help, box), clip_row)

        # -- probes
        box, form = self._section("Probes", body, lay)
        every_help = (
            "Take the layer statistics every N steps (auto: every 10). A probe is always taken at "
            "step 0, before any update."
        )
        self.probe_every = AutoIntField("probes.every", every_help, box, default=10)
        self.probe_every.committed.connect(
            lambda: self._set("probes", "every", self.probe_every.value())
        )
        form.addRow(self._label("Every", every_help, box), self.probe_every)
        self.bins = ParamField(P_BINS, "probes.bins", box)
        self.bins.committed.connect(lambda: self._set("probes", "bins", self.bins.value()))
        form.addRow(self._label("Bins", P_BINS.help, box), self.bins)
        self.jacobian = ParamField(P_JACOBIAN, "probes.jacobian_every", box)
        self.jacobian.editor.setSuffix(" probes")
        self.jacobian.editor.setSpecialValueText("never")
        self.jacobian.committed.connect(
            lambda: self._set("probes", "jacobian_every", self.jacobian.value())
        )
        form.addRow(self._label("Jacobian every", P_JACOBIAN.help, box), self.jacobian)
        self.probe_batch = ParamField(P_PROBE_BATCH, "probes.batch", box)
        self.probe_batch.committed.connect(
            lambda: self._set("probes", "batch", self.probe_batch.value())
        )
        form.addRow(self._label("Probe batch", P_PROBE_BATCH.help, box), self.probe_batch)

        # -- run
        box, form = self._section("Seed && precision", body, lay)
        self.seed = ParamField(P_SEED, "seed", box)
        self.seed.committed.connect(lambda: self._set(None, "seed", self.seed.value()))
        form.addRow(self._label("Seed", P_SEED.help, box), self.seed)
        self.dtype = ComboBox(box)
        for name, tip in DTYPES:
            self.dtype.add_item(name, name, tip)
        self.dtype.setToolTip("The floating-point type of the weights and activations")
        self.dtype.activated.connect(lambda _i: self._set(None, "dtype", self.dtype.currentData()))
        form.addRow("Precision", self.dtype)
        lay.addStretch(1)

        # path -> the widget showing it (error marks)
        self.widgets: dict[str, QWidget] = {
            "training.lr": self.lr,
            "training.steps": self.steps,
            "training.epochs": self.epochs,
            "training.batch_size": self.batch_size,
            "training.eval_every": self.eval_every,
            "training.loss": self.loss,
            "training.l1": self.l1,
            "training.l2": self.l2,
            "training.max_norm": self.max_norm,
            "training.clip": self.clip_value,
            "training.optimizer": self.optimizer,
            "training.schedule": self.schedule,
            "probes.every": self.probe_every,
            "probes.bins": self.bins,
            "probes.jacobian_every": self.jacobian,
            "probes.batch": self.probe_batch,
            "seed": self.seed,
            "dtype": self.dtype,
        }
        self._tips = {
            w: w.toolTip() for w in (self.optimizer, self.schedule, self.loss, self.dtype, self.lr)
        }
        self._opt_name = ""
        self._sched_name = ""
        self.set_spec({})

    # ------------------------------------------------------------------ construction helpers
    def _section(self, title: str, body: QWidget, lay: QVBoxLayout):
        box, form = section(title, body)
        lay.addWidget(box)
        self.forms.append(form)
        return box, form

    @staticmethod
    def _label(text: str, tip: str, parent: QWidget) -> QLabel:
        label = QLabel(text, parent)
        label.setToolTip(tip)
        return label

    @staticmethod
    def _note(parent: QWidget) -> QLabel:
        label = muted(QLabel(parent))
        label.setWordWrap(True)
        return label

    # ------------------------------------------------------------------ reading the spec
    def _training(self) -> dict:
        t = self._spec.get("training")
        return t if isinstance(t, dict) else {}

    def _probes(self) -> dict:
        p = self._spec.get("probes")
        return p if isinstance(p, dict) else {}

    def _opt(self) -> tuple[str, dict]:
        name, params = named(self._training().get("optimizer", DEFAULT_TRAINING["optimizer"]))
        try:
            name = optimizers.info(name).name
        except SpecError:
            pass
        return name, params

    def _sched(self) -> tuple[str, dict]:
        name, params = named(self._training().get("schedule", DEFAULT_TRAINING["schedule"]))
        try:
            name = schedules.info(name).name
        except SpecError:
            pass
        return name, params

    def budget_mode(self) -> str:
        t = self._training()
        if t.get("steps") is not None:
            return "steps"
        if t.get("epochs") is not None:
            return "epochs"
        return "none"

    # ------------------------------------------------------------------ model -> UI
    def set_spec(self, spec: dict) -> None:
        super().set_spec(spec)
        t, p = self._training(), self._probes()
        opt, opt_params = self._opt()
        self._show_optimizer(opt, opt_params)
        lr = t.get("lr")
        self.lr.set_value_quietly(float(lr) if _is_number(lr) and lr > 0 else lr_default(opt))
        sched, sched_params = self._sched()
        self._show_schedule(sched, sched_params)

        mode = self.budget_mode()
        if t.get("steps") is not None:
            self._memory_steps = t["steps"]
        if t.get("epochs") is not None:
            self._memory_epochs = t["epochs"]
        with blocked(self.budget, *self.radio.values()):
            self.radio[mode].setChecked(True)
        self.steps.set_value(self._memory_steps)
        self.epochs.set_value(self._memory_epochs)
        self._show_budget_rows(mode)
        self.batch_size.set_value(t.get("batch_size", DEFAULT_TRAINING["batch_size"]))
        self.eval_every.set_value(t.get("eval_every", "auto"))

        with blocked(self.loss):
            loss = t.get("loss", DEFAULT_TRAINING["loss"])
            if not self.loss.select_data(loss):
                try:
                    self.loss.select_data(losses.REGISTRY.canonical(loss))
                except SpecError:
                    self.loss.add_item(str(loss), loss, "unknown loss")
                    self.loss.select_data(loss)
        self.l1.set_value(t.get("l1", 0.0))
        self.l2.set_value(t.get("l2", 0.0))
        self.max_norm.set_value(t.get("max_norm"))
        clip = t.get("clip")
        kind, c = next(iter(clip.items())) if isinstance(clip, dict) and clip else (None, None)
        with blocked(self.clip_kind, self.clip_value):
            self.clip_kind.select_data(kind)
            if _is_number(c):
                self.clip_value.setValue(float(c))
            self.clip_value.setEnabled(kind is not None)

        self.probe_every.set_value(p.get("every", DEFAULT_PROBES["every"]))
        self.bins.set_value(p.get("bins", DEFAULT_PROBES["bins"]))
        self.jacobian.set_value(p.get("jacobian_every", DEFAULT_PROBES["jacobian_every"]))
        self.probe_batch.set_value(p.get("batch", DEFAULT_PROBES["batch"]))
        self.seed.set_value(self._spec.get("seed", 0))
        with blocked(self.dtype):
            self.dtype.select_data(self._spec.get("dtype", "float32"))
        align_labels(*self.forms)
        self._revalidate()

    def _show_optimizer(self, name: str, params: dict) -> None:
        with blocked(self.optimizer):
            if not self.optimizer.select_data(name):
                self.optimizer.add_item(name, name, "unknown optimiser")
                self.optimizer.select_data(name)
        try:
            cls = optimizers.info(name)
            own = [p for p in cls.params if p.name != "lr"]
            note = cls.description
        except SpecError:
            own, note = [], ""
        if name != self._opt_name or [p.name for p in own] != list(self.opt_params.fields):
            self._opt_name = name
            self.opt_params.build(own)
            align_labels(*self.forms)
        self.opt_params.set_values(params)
        self.opt_note.setText(note.replace("\u0302", ""))  # m̂: combining hats render badly
        self.opt_note.setVisible(bool(note))

    def _show_schedule(self, name: str, params: dict) -> None:
        with blocked(self.schedule):
            if not self.schedule.select_data(name):
                self.schedule.add_item(name, name, "unknown schedule")
                self.schedule.select_data(name)
        try:
            cls = schedules.info(name)
            own = [p for p in cls.params if p.name != "lr"]
            note = cls.description
        except SpecError:
            own, note = [], ""
        if name != self._sched_name or [p.name for p in own] != list(self.sched_params.fields):
            self._sched_name = name
            self.sched_params.build(own)
            f = self.sched_params.fields.get("total_steps")
            if f is not None and f.enable is not None:
                f.enable.setToolTip("Unchecked: the run's own budget (steps or epochs)")
            align_labels(*self.forms)
        self.sched_params.set_values(params)
        self.sched_note.setText(note)
        self.sched_note.setVisible(bool(note))

    def _show_budget_rows(self, mode: str) -> None:
        form = self.forms[2]
        form.setRowVisible(self.steps, mode == "steps")
        form.setRowVisible(self.epochs, mode == "epochs")

    # ------------------------------------------------------------------ UI -> model
    def _emit(self, spec: dict) -> None:
        self._spec = spec
        self._revalidate()
        self.specEdited.emit(copy.deepcopy(spec))

    def _edit_training(self) -> tuple[dict, dict]:
        spec = copy.deepcopy(self._spec)
        t = spec.get("training")
        if not isinstance(t, dict):
            t = spec["training"] = {}
        return spec, t

    def _set(self, section_: str | None, key: str, value: Any) -> None:
        spec = copy.deepcopy(self._spec)
        if section_ is None:
            target = spec
        else:
            target = spec.get(section_)
            if not isinstance(target, dict):
                target = spec[section_] = {}
        if target.get(key, _MISSING) == value and type(target.get(key)) is type(value):
            return
        target[key] = value
        self._emit(spec)

    def _on_optimizer(self, _i: int) -> None:
        new = self.optimizer.currentData()
        old, old_params = self._opt()
        if new == old:
            return
        spec, t = self._edit_training()
        new_params = {p.name for p in optimizers.info(new).params}
        carried = {k: v for k, v in old_params.items() if k in new_params and k != "lr"}
        t["optimizer"] = {"name": new, **carried}
        lr = t.get("lr")
        if lr is None or (_is_number(lr) and abs(lr - lr_default(old)) <= 1e-12 * max(1.0, lr)):
            t["lr"] = lr_default(new)  # the old default follows the optimiser
        self._spec = spec
        self._show_optimizer(new, carried)
        self.lr.set_value_quietly(t["lr"] if t.get("lr") is not None else lr_default(new))
        self._emit(spec)

    def _on_lr(self, value: float) -> None:
        self._set("training", "lr", float(value))

    def _on_opt_param(self, key: str) -> None:
        spec, t = self._edit_training()
        name, params = self._opt()
        params[key] = self.opt_params.fields[key].value()
        t["optimizer"] = {"name": name, **params}
        self._emit(spec)

    def _on_schedule(self, _i: int) -> None:
        new = self.schedule.currentData()
        old, old_params = self._sched()
        if new == old:
            return
        spec, t = self._edit_training()
        names = {p.name for p in schedules.info(new).params}
        carried = {k: v for k, v in old_params.items() if k in names and k != "lr"}
        t["schedule"] = {"name": new, **carried} if carried else new
        self._spec = spec
        self._show_schedule(new, carried)
        self._emit(spec)

    def _on_sched_param(self, key: str) -> None:
        spec, t = self._edit_training()
        name, params = self._sched()
        value = self.sched_params.fields[key].value()
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
        t["schedule"] = {"name": name, **params}
        self._emit(spec)

    def _on_budget_toggled(self, button, checked: bool) -> None:
        if not checked:
            return
        mode = next(m for m, b in self.radio.items() if b is button)
        self._show_budget_rows(mode)
        spec, t = self._edit_training()
        t.pop("steps", None)
        t.pop("epochs", None)
        if mode == "steps":
            t["steps"] = self.steps.value()
        elif mode == "epochs":
            t["epochs"] = self.epochs.value()
        self._emit(spec)

    def _on_budget_value(self, mode: str) -> None:
        field = self.steps if mode == "steps" else self.epochs
        value = field.value()
        if mode == "steps":
            self._memory_steps = value
        else:
            self._memory_epochs = value
        spec, t = self._edit_training()
        t.pop("steps" if mode == "epochs" else "epochs", None)
        t[mode] = value
        self._emit(spec)

    def _on_clip(self) -> None:
        kind = self.clip_kind.currentData()
        self.clip_value.setEnabled(kind is not None)
        value = None if kind is None else {kind: float(self.clip_value.value())}
        self._set("training", "clip", value)

    # ------------------------------------------------------------------ validation
    def errors(self) -> list[str]:
        return list(self._errors)

    def _revalidate(self) -> None:
        errs: list[str] = []
        fields = [
            self.steps if self.budget_mode() == "steps" else None,
            self.epochs if self.budget_mode() == "epochs" else None,
            self.batch_size,
            self.eval_every,
            self.l1,
            self.l2,
            self.max_norm,
            self.probe_every,
            self.bins,
            self.jacobian,
            self.probe_batch,
            self.seed,
        ]
        for f in fields:
            if f is not None and (m := f.check()):
                errs.append(m)
        for f in (self.steps, self.epochs):
            if f not in fields:
                f.set_error("")
        errs += self.opt_params.check() + self.sched_params.check()
        clip_msg = ""
        if self.clip_kind.currentData() is not None and not self.clip_value.value() > 0:
            clip_msg = (
                f"training.clip.{self.clip_kind.currentData()}: must be > 0, "
                f"got {self.clip_value.value():g}"
            )
            errs.append(clip_msg)
        mark_error(self.clip_value, clip_msg, "The clipping threshold c (> 0)")
        for w, tip in self._tips.items():
            mark_error(w, "", tip)
        if not errs:
            err = self._section_error()
            if err is not None:
                errs.append(str(err))
                self._mark(err)
        if errs != self._errors:
            self._errors = errs
            self.errorsChanged.emit()

    def _section_error(self) -> SpecError | None:
        """The first error of the panel's sections, from the spec's own validation (cross-field
        rules such as min_lr <= lr), on a spec whose other sections are neutral."""
        probe = {
            k: copy.deepcopy(v)
            for k, v in self._spec.items()
            if k in ("training", "probes", "seed", "dtype")
        }
        probe["data"] = {"name": "spiral"}
        probe["network"] = {"layers": []}
        try:
            resolve_spec(probe)
        except SpecError as err:
            if err.field.startswith(SECTION_PREFIXES):
                return err
        return None

    def _mark(self, err: SpecError) -> None:
        path = err.field
        for prefix, form in (
            ("training.optimizer.", self.opt_params),
            ("training.schedule.", self.sched_params),
        ):
            if path.startswith(prefix):
                f = form.fields.get(path[len(prefix) :])
                if f is not None:
                    f.set_error(str(err))
                    return
        while path:
            w = self.widgets.get(path)
            if w is not None:
                if hasattr(w, "set_error"):
                    w.set_error(str(err))
                else:
                    mark_error(w, str(err), "")
                return
            path = path.rpartition(".")[0]

    def set_running(self, running: bool) -> None:
        pass  # edits during a run become the next run's spec (the window says so)

    def retheme(self) -> None:
        """Re-apply the theme's grey text and error marks."""
        retint(self)
        self._revalidate()


_MISSING = object()


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
