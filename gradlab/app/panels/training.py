"""The Training panel: optimiser and its hyper-parameters, schedule, budget, batch size, loss,
regularisation and clipping, the probes, the seed and the precision.

Every row is built from a declaration of the spec layer (:mod:`gradlab.experiment.spec.fields`
for the spec's own fields, :mod:`gradlab.experiment.spec.catalog` for the optimiser's and the
schedule's parameters): its label, its help text, its bounds, the value it shows before it is
set. Nothing about a field is written here but where it goes on screen.

Model -> UI: :meth:`TrainingPanel.set_spec` shows ``spec["training"]``, ``spec["probes"]``,
``seed`` and ``dtype`` with signals blocked. UI -> model: a committed field sets its own key in a
copy of the spec and the panel emits it; keys the panel does not show are left as they are.
Problems are the spec layer's one check, marked on the field they name.

Spec conventions: the learning rate lives at ``training.lr`` (the toolbar's box edits the same
value); the optimiser at ``training.optimizer`` as ``{"name": ..., params}`` (its own
hyper-parameters rebuild when the optimiser changes, carrying over the ones they share); the
budget is ``training.steps`` or ``training.epochs`` (never both; neither = until stopped);
clipping is ``null``, ``{"norm": c}`` or ``{"value": c}``.
"""

from __future__ import annotations

import copy
import dataclasses
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
    ComboBox,
    FloatSpinBox,
    LogField,
    ParamField,
    ParamForm,
    align_labels,
    blocked,
    label_for,
    mark_error,
    muted,
    retint,
    scrolling_body,
    section,
)
from gradlab.experiment.spec import catalog, check
from gradlab.experiment.spec import fields as F

#: the sections of the spec this panel edits
SECTIONS = ("training", "probes", "seed", "dtype")
BUDGETS = (
    ("steps", "Steps", "Stop after a number of updates."),
    ("epochs", "Epochs", "Stop after a number of passes over the training set."),
    ("none", "Until stopped", "Train until you press Pause."),
)


def named(value: Any) -> tuple[str, dict]:
    """``"adam"`` or ``{"name": "adam", "beta1": 0.8}`` -> ("adam", {"beta1": 0.8})."""
    if isinstance(value, dict):
        params = dict(value)
        return str(params.pop("name", "")), params
    return (str(value) if value is not None else ""), {}


def _required(param):
    """A budget field shown only when its budget is chosen: never None on screen."""
    return dataclasses.replace(param, optional=False, default=F.suggested(param))


class TrainingPanel(SpecPanel):
    """Optimiser, schedule, budget, loss and regularisation, probes, seed and dtype."""

    title = "Training"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._errors: list[str] = []
        self._memory = {"steps": F.suggested(F.STEPS), "epochs": F.suggested(F.EPOCHS)}

        self.scroll_area, body, lay = scrolling_body(self)
        self.forms: list[QFormLayout] = []

        # -- optimiser
        box, form = self._section("Optimisation", body, lay)
        self.optimizer = self._choice(F.OPTIMIZER, box)
        self.optimizer.activated.connect(self._on_optimizer)
        form.addRow(self._label(F.OPTIMIZER, box), self.optimizer)
        self.opt_note = self._note(box)
        form.addRow(self.opt_note)
        self.lr = LogField(box, minimum=1e-12, maximum=F.LR.maximum)
        self.lr.setToolTip(F.LR.help)
        self.lr.valueCommitted.connect(self._on_lr)
        form.addRow(self._label(F.LR, box), self.lr)
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
        self.schedule = self._choice(F.SCHEDULE, box)
        self.schedule.activated.connect(self._on_schedule)
        form.addRow(self._label(F.SCHEDULE, box), self.schedule)
        self.sched_note = self._note(box)
        form.addRow(self.sched_note)
        self.sched_params = ParamForm(
            form, "training.schedule", box, decades=("min_lr", "threshold")
        )
        self.sched_params.edited.connect(self._on_sched_param)

        # -- budget
        box, form = self._section("Budget", body, lay)
        self.budget_form = form
        radios = QWidget(box)
        rl = QHBoxLayout(radios)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(10)
        self.budget = QButtonGroup(self)
        self.radio = {}
        for mode, text, tip in BUDGETS:
            rb = QRadioButton(text, radios)
            rb.setToolTip(tip)
            self.budget.addButton(rb)
            self.radio[mode] = rb
            rl.addWidget(rb)
        rl.addStretch(1)
        self.budget.buttonToggled.connect(self._on_budget_toggled)
        form.addRow(radios)
        self.steps = ParamField(_required(F.STEPS), "training.steps", box)
        self.steps.editor.setSingleStep(100)
        self.epochs = ParamField(_required(F.EPOCHS), "training.epochs", box, step=1.0)
        self.steps.committed.connect(lambda: self._on_budget_value("steps"))
        self.epochs.committed.connect(lambda: self._on_budget_value("epochs"))
        form.addRow(self._label(F.STEPS, box), self.steps)
        form.addRow(self._label(F.EPOCHS, box), self.epochs)
        self.run_params = ParamForm(form, "training", box)
        self.run_params.build([F.BATCH_SIZE, F.EVAL_EVERY, F.MC_DROPOUT, F.DIVERGE_FACTOR])
        self.run_params.edited.connect(lambda k: self._set_from("training", self.run_params, k))

        # -- loss and regularisation
        box, form = self._section("Loss && regularisation", body, lay)
        self.reg_params = ParamForm(
            form,
            "training",
            box,
            steps={"l1": 1e-5, "l2": 1e-5, "max_norm": 0.5},
            decades=("l1", "l2"),
        )
        self.reg_params.build([F.LOSS, F.L1, F.L2, F.MAX_NORM, F.EARLY_STOPPING])
        self.reg_params.edited.connect(self._on_reg_param)
        # early stopping's own settings, shown while it is on (Hands-On ML: a regulariser)
        self.es_params = ParamForm(form, "training.early_stopping", box, decades=("min_delta",))
        self.es_params.build(F.EARLY_STOPPING_PARAMS)
        self.es_params.edited.connect(self._on_es_param)
        clip_row = QWidget(box)
        cl = QHBoxLayout(clip_row)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(4)
        self.clip_kind = self._choice(F.CLIP, clip_row)
        self.clip_kind.setMinimumContentsLength(6)
        self.clip_value = FloatSpinBox(clip_row, step=0.5)
        self.clip_value.setValue(F.CLIP_THRESHOLD.default)
        self.clip_value.setToolTip(F.CLIP_THRESHOLD.help)
        self.clip_kind.activated.connect(lambda _i: self._on_clip())
        self.clip_value.valueChanged.connect(lambda _v: self._on_clip())
        cl.addWidget(self.clip_kind, 3)
        cl.addWidget(self.clip_value, 2)
        form.addRow(self._label(F.CLIP, box), clip_row)

        # -- probes
        box, form = self._section("Probes", body, lay)
        self.probe_params = ParamForm(form, "probes", box)
        self.probe_params.build(F.PROBES)
        self.probe_params.edited.connect(lambda k: self._set_from("probes", self.probe_params, k))
        jac = self.probe_params.fields["jacobian_every"].editor
        jac.setSuffix(" probes")
        jac.setSpecialValueText("never")

        # -- seed and precision
        box, form = self._section("Seed && precision", body, lay)
        self.run_id_params = ParamForm(form, "", box)
        self.run_id_params.build([F.SEED, F.DTYPE])
        self.run_id_params.edited.connect(lambda k: self._set_from(None, self.run_id_params, k))
        lay.addStretch(1)

        # the fields by name, for tests and error marks
        self.batch_size = self.run_params.fields["batch_size"]
        self.eval_every = self.run_params.fields["eval_every"]
        self.loss = self.reg_params.fields["loss"]
        self.l1, self.l2 = self.reg_params.fields["l1"], self.reg_params.fields["l2"]
        self.max_norm = self.reg_params.fields["max_norm"]
        self.early_stopping = self.reg_params.fields["early_stopping"]
        self.mc_dropout = self.run_params.fields["mc_dropout"]
        self.mc_dropout.editor.setSpecialValueText("off")
        self.probe_every = self.probe_params.fields["every"]
        self.bins = self.probe_params.fields["bins"]
        self.jacobian = self.probe_params.fields["jacobian_every"]
        self.probe_batch = self.probe_params.fields["batch"]
        self.seed = self.run_id_params.fields["seed"]
        self.dtype = self.run_id_params.fields["dtype"]
        self._tips = {
            self.optimizer: F.OPTIMIZER.help,
            self.schedule: F.SCHEDULE.help,
            self.lr: F.LR.help,
            self.clip_value: F.CLIP_THRESHOLD.help,
            self.clip_kind: F.CLIP.help,
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
    def _label(param, parent: QWidget) -> QLabel:
        label = QLabel(label_for(param), parent)
        label.setToolTip(param.help)
        return label

    @staticmethod
    def _choice(param, parent: QWidget) -> ComboBox:
        combo = ComboBox(parent)
        for c in param.choices:
            combo.add_item("none" if c is None else str(c), c, param.help_for(c))
        combo.setToolTip(param.help)
        return combo

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

    def _component(self, kind: str, key: str, default: str) -> tuple[str, dict]:
        name, params = named(self._training().get(key, default))
        return catalog.canonical(kind, name) or name, params

    def _opt(self) -> tuple[str, dict]:
        return self._component("optimizer", "optimizer", F.OPTIMIZER.default)

    def _sched(self) -> tuple[str, dict]:
        return self._component("schedule", "schedule", F.SCHEDULE.default)

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
        self.lr.set_value_quietly(float(lr) if _is_number(lr) and lr > 0 else F.optimizer_lr(opt))
        sched, sched_params = self._sched()
        self._show_schedule(sched, sched_params)

        mode = self.budget_mode()
        for key in ("steps", "epochs"):
            if t.get(key) is not None:
                self._memory[key] = t[key]
        with blocked(self.budget, *self.radio.values()):
            self.radio[mode].setChecked(True)
        self.steps.set_value(self._memory["steps"])
        self.epochs.set_value(self._memory["epochs"])
        self._show_budget_rows(mode)
        self.run_params.set_values(t)
        loss = t.get("loss", F.LOSS.default)
        es = t.get("early_stopping")
        self.reg_params.set_values(
            {**t, "loss": catalog.canonical("loss", loss) or loss, "early_stopping": bool(es)}
        )
        self.es_params.set_values(es if isinstance(es, dict) else {})
        for param in F.EARLY_STOPPING_PARAMS:
            self.es_params.set_row_visible(param.name, bool(es))
        clip = t.get("clip")
        kind, c = next(iter(clip.items())) if isinstance(clip, dict) and clip else (None, None)
        with blocked(self.clip_kind, self.clip_value):
            self.clip_kind.select_data(kind)
            if _is_number(c):
                self.clip_value.setValue(float(c))
            self.clip_value.setEnabled(kind is not None)
        self.probe_params.set_values(p)
        self.run_id_params.set_values(self._spec)
        align_labels(*self.forms)
        self._revalidate()

    def _show_optimizer(self, name: str, params: dict) -> None:
        with blocked(self.optimizer):
            if not self.optimizer.select_data(name):
                self.optimizer.add_item(name, name, "unknown optimiser")
                self.optimizer.select_data(name)
        c = catalog.get("optimizer", name)
        own = [p for p in c.params if p.name != "lr"] if c else []
        note = c.description if c else ""
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
        c = catalog.get("schedule", name)
        own = [p for p in c.params if p.name != "lr"] if c else []
        note = c.description if c else ""
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
        self.budget_form.setRowVisible(self.steps, mode == "steps")
        self.budget_form.setRowVisible(self.epochs, mode == "epochs")

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

    def _set_from(self, section_: str | None, form: ParamForm, key: str) -> None:
        self._set(section_, key, form.fields[key].value())

    def _on_optimizer(self, _i: int) -> None:
        new = self.optimizer.currentData()
        old, old_params = self._opt()
        if new == old:
            return
        spec, t = self._edit_training()
        c = catalog.get("optimizer", new)
        new_params = {p.name for p in c.params} if c else set()
        carried = {k: v for k, v in old_params.items() if k in new_params and k != "lr"}
        t["optimizer"] = {"name": new, **carried}
        lr = t.get("lr")
        old_default = F.optimizer_lr(old)
        if lr is None or (_is_number(lr) and abs(lr - old_default) <= 1e-12 * max(1.0, lr)):
            t["lr"] = F.optimizer_lr(new)  # the old default follows the optimiser
        self._spec = spec
        self._show_optimizer(new, carried)
        self.lr.set_value_quietly(t["lr"] if t.get("lr") is not None else F.optimizer_lr(new))
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
        c = catalog.get("schedule", new)
        names = {p.name for p in c.params} if c else set()
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
        self._memory[mode] = value
        spec, t = self._edit_training()
        t.pop("steps" if mode == "epochs" else "epochs", None)
        t[mode] = value
        self._emit(spec)

    def _on_reg_param(self, key: str) -> None:
        self._set_from("training", self.reg_params, key)
        if key == "early_stopping":  # its settings show while it is on
            on = bool(self.reg_params.fields[key].value())
            for param in F.EARLY_STOPPING_PARAMS:
                self.es_params.set_row_visible(param.name, on)

    def _on_es_param(self, key: str) -> None:
        spec, t = self._edit_training()
        es = t.get("early_stopping")
        es = dict(es) if isinstance(es, dict) else {}
        es[key] = self.es_params.fields[key].value()
        t["early_stopping"] = es
        self._emit(spec)

    def _on_clip(self) -> None:
        kind = self.clip_kind.currentData()
        self.clip_value.setEnabled(kind is not None)
        value = None if kind is None else {kind: float(self.clip_value.value())}
        self._set("training", "clip", value)

    # ------------------------------------------------------------------ problems
    def errors(self) -> list[str]:
        return list(self._errors)

    def _revalidate(self) -> None:
        """Mark what the spec's one check finds in this panel's sections."""
        problems = check(self._spec).under(*SECTIONS)
        by_field = problems.by_field()
        for form in (
            self.opt_params,
            self.sched_params,
            self.run_params,
            self.reg_params,
            self.es_params,
            self.probe_params,
            self.run_id_params,
        ):
            form.show_problems(by_field)
        for field in (self.steps, self.epochs):
            field.set_error(by_field.get(field.path, ""))
        clip = next((m for f, m in by_field.items() if f.startswith("training.clip")), "")
        marks = {
            self.lr: by_field.get("training.lr", ""),
            self.optimizer: by_field.get("training.optimizer")
            or by_field.get("training.optimizer.name", ""),
            self.schedule: by_field.get("training.schedule")
            or by_field.get("training.schedule.name", ""),
            self.clip_value: clip,
        }
        for w, tip in self._tips.items():
            mark_error(w, marks.get(w, ""), tip)
        errs = problems.messages()
        if errs != self._errors:
            self._errors = errs
            self.errorsChanged.emit()

    def retheme(self) -> None:
        """Re-apply the theme's grey text and error marks."""
        retint(self)
        self._revalidate()


_MISSING = object()


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
