"""Experiment: a spec turned into data, network, optimiser, probes and a history, and the
training loop that any driver (the command line, a notebook, the window's worker thread) runs.

>>> exp = Experiment({"name": "demo", "data": {"name": "xor"},
...                   "network": {"layers": [{"units": 8, "activation": "tanh"}]},
...                   "training": {"steps": 200}})                 # doctest: +SKIP
>>> for report in exp.train():                                     # doctest: +SKIP
...     print(report.step, report.loss)
>>> exp.save("demo.gradlab")                                       # doctest: +SKIP

The loop is a generator (:meth:`Experiment.train`) that yields a :class:`Report` every
``report_every`` seconds and at the end; between yields the driver may stop iterating (pause), and
the experiment is always left between two steps, ready to go on or to be saved. Saving captures
parameters, optimiser and schedule state, data order and every random generator, so
:func:`load_session` followed by more training gives bit for bit the run that was never stopped
(:mod:`gradlab.experiment.checkpoint`).

The spec is checked by the spec layer's one check (:mod:`gradlab.experiment.spec`), and its name
and description follow its content (:mod:`gradlab.experiment.spec.naming`): a preset edited away
from its settings runs as ``custom (from <preset>)``. A learning rate changed during the run
(:meth:`Experiment.set_lr`) is recorded as a step-indexed change (:attr:`Experiment.lr_changes`),
shown wherever the run is named and saved with it.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gradlab import data as datasets
from gradlab import threads
from gradlab.engine import Network, fused, losses, optimizers, regularization, schedules
from gradlab.errors import DataError, SpecError
from gradlab.experiment import health, mcdropout, reuse, theory
from gradlab.experiment import restore as restoring
from gradlab.experiment import spec as specs
from gradlab.experiment.earlystop import EarlyStopping
from gradlab.experiment.history import History
from gradlab.experiment.limits import check as check_limits
from gradlab.experiment.probes import Prober, ProbeRecord, log_steps
from gradlab.experiment.snapshots import WeightHistory, keeps_weights
from gradlab.experiment.spec import fields, naming

#: evaluation sample sizes (a fixed subset of the training set; the validation set up to this)
EVAL_TRAIN_EXAMPLES = 1000
EVAL_VAL_EXAMPLES = 10000
#: "auto" evaluations may cost about this fraction of the time (an evaluated example costs about
#: a third of a trained one: a forward pass without backward and update)
EVAL_BUDGET = 0.05
#: probes may cost at most 10% of the time when ``probes.every`` is "auto" (DESIGN.md); the
#: interval is sized for 7%, since a probe also cools the caches the next steps rely on
PROBE_BUDGET = 0.07

_NICE = (1, 2, 5)


def nice_interval(k: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is >= k."""
    k = max(k, 1.0)
    decade = 10 ** math.floor(math.log10(k))
    for m in (*_NICE, 10):
        if m * decade >= k - 1e-9:
            return int(m * decade)
    return int(10 * decade)


@dataclass(frozen=True)
class Report:
    """What the training loop tells its driver at each yield."""

    step: int
    epoch: float
    loss: float
    lr: float
    steps_per_sec: float
    status: str  # "running", "done" (budget reached), "diverged", "stopped early"
    probes: int  # probes taken so far (serial count)
    message: str = ""


class Experiment:
    """A runnable, inspectable, savable experiment (see the module docstring).

    Attributes
    ----------
    spec : the resolved spec (every default filled in, output layer explicit), named after its
        content; ``training.lr`` is the learning rate the run started with.
    base_lr : the learning rate the schedule now starts from (``training.lr`` until changed).
    lr_changes : the changes made during the run, ``{"step", "from", "to"}`` each.
    network, loss, optimizer, schedule : the engine objects.
    history : :class:`~gradlab.experiment.history.History`.
    step_count : updates applied so far.
    status : "ready", "running", "paused", "done", "diverged" or "stopped early".
    early_stopping : the :class:`~gradlab.experiment.earlystop.EarlyStopping` state of the run
        (None when ``training.early_stopping`` is off).
    """

    def __init__(
        self, spec: dict, *, dataset: datasets.Dataset | None = None, _dims: dict | None = None
    ):
        threads.ensure_configured()
        restoring_session = _dims is not None  # (its arrays hold the reused weights)
        self.spec = naming.follow(specs.resolve(spec))
        check_limits(self.spec, _dims)  # bounds and memory, before the data is read
        s = self.spec
        self.seed = s["seed"]
        self._dataset = dataset
        self._data_lock = threading.Lock()
        self._preprocess_state: dict | None = None
        self.data_error: str | None = None
        if _dims is None:
            ds = self.data
            _dims = {"input_dim": ds.input_dim, "output_dim": ds.n_classes}
            self.spec["data"] = copy.deepcopy(ds.resolved)
        self.input_dim = _dims["input_dim"]
        self.output_dim = _dims["output_dim"]
        layers = specs.resolve_network(s, self.output_dim)  # (the loss/output rule: checked)
        s["network"]["layers"] = layers
        check_limits(s, {"input_dim": self.input_dim, "output_dim": self.output_dim})
        self.network = Network(layers, self.input_dim, self.output_dim, self.seed, s["dtype"])
        if not restoring_session:
            reuse.apply(self.network, layers)
        #: what the optimiser steps: every gradient but the frozen layers' (Network.frozen)
        self._train_grads = self.network.trainable_grads()
        t = s["training"]
        self.loss = losses.get(t["loss"])
        opt = dict(t["optimizer"])
        self.optimizer = optimizers.get(opt.pop("name"), lr=t["lr"], **opt)
        sched = dict(t["schedule"])
        try:
            self.schedule = schedules.get(sched.pop("name"), lr=t["lr"], **sched)
            self.schedule.resolve(self.total_steps)
        except SpecError as err:
            raise err.prefixed("training.schedule") from None

        self.weight_names = [f"{b.name}.W" for b in self.network.blocks]
        self._train_weights = [w for w in self.weight_names if w not in self.network.frozen]
        #: 1cycle cycles the optimiser's momentum (None: the schedule leaves it alone)
        self._momentum_at = (
            self.schedule.momentum_at
            if self.schedule.schedules_momentum and self.optimizer.momentum_param
            else None
        )
        self.early_stopping = EarlyStopping.from_spec(t["early_stopping"])
        p = s["probes"]
        self.history = History(self.network.layer_names, p["bins"], probe_capacity=p["capacity"])
        self._prober: Prober | None = None
        self._prober_state: dict | None = None
        #: the weights at the probes, for the decision boundary of an earlier step (2-D data)
        self.weights: WeightHistory | None = None
        if keeps_weights(self.input_dim, self.network.n_params):
            self.weights = WeightHistory(
                layers, self.input_dim, self.output_dim, self.seed, s["dtype"],
                capacity=p["capacity"],
            )  # fmt: skip

        seq = np.random.SeedSequence(self.seed).spawn(4)
        self.rng = np.random.default_rng(seq[0])  # batch order
        self._probe_seed = int(seq[1].generate_state(1)[0])
        self._subset_seed = int(seq[2].generate_state(1)[0])

        self.step_count = 0
        self.epoch = 0  # completed passes over the training set
        self.pos = 0  # position in the current permutation
        self.perm: np.ndarray | None = None
        self.base_lr: float = t["lr"]
        self.lr_changes: list[dict] = []
        self.probe_every = 10 if p["every"] == "auto" else p["every"]
        #: the log-spaced early probes, besides every ``probe_every`` steps (probes.per_decade)
        self._log_steps = log_steps(p["per_decade"])
        self.status = "ready"
        self.diverged: dict | None = None
        #: health verdicts (built with the prober: they need the probe batch and the labels)
        self._monitor: health.HealthMonitor | None = None
        self._monitor_state: dict | None = None
        #: CS231n's divergence rule on the running mean of the loss
        self.watch = health.DivergenceWatch(float(t.get("diverge_factor", 3.0) or 0.0))
        #: seconds per step the driver paces training at (the window's speed control), or None;
        #: "auto" probing may then use the idle time: probes cost <= 10% of the wall clock
        self.pace: float | None = None
        self._t_step = 0.0  # moving averages of seconds per step / per probe
        self._t_probe = 0.0
        self._t_jacobian = 0.0
        self._last_eval_step = -1
        self._eval_every: int | None = None
        self._stop = threading.Event()
        self.path: Path | None = None

    # ------------------------------------------------------------------ data (lazy)
    @property
    def data(self) -> datasets.Dataset:
        """The dataset, built on first use (a loaded session does not rebuild it until needed).

        Built once under a lock: the worker thread and the window (a 2-D session's points) may
        ask for it at the same moment."""
        ds = self._dataset
        if ds is not None:
            return ds
        with self._data_lock:
            if self._dataset is None:
                try:
                    self._dataset = restoring.fits_order(
                        self,
                        datasets.load(
                            self.spec["data"], self.seed, preprocess_state=self._preprocess_state
                        ),
                    )
                except DataError as err:
                    self.data_error = str(err)
                    raise
            return self._dataset

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def steps_per_epoch(self) -> int:
        n = len(self.data.x_train)
        return max(1, n // self.spec["training"]["batch_size"])

    @property
    def total_steps(self) -> int | None:
        """The run's step budget (``training.steps``, or epochs x steps per epoch), or None."""
        t = self.spec["training"]
        if t["steps"] is not None:
            return t["steps"]
        if t["epochs"] is not None:
            return max(1, round(t["epochs"] * self.steps_per_epoch))
        return None

    @property
    def eval_every(self) -> int:
        """Steps between evaluations. "auto": once an epoch (within 20..500 steps), and rarely
        enough that evaluating costs about 5% of the time. Deterministic (never timed), since a
        plateau schedule acts on the evaluations."""
        e = self.spec["training"]["eval_every"]
        if e != "auto":
            return e
        if self._eval_every is None:
            ds = self.data
            passes = 1 + self.spec["training"]["mc_dropout"]  # MC dropout's passes too
            n_eval = min(len(ds.x_train), EVAL_TRAIN_EXAMPLES) + passes * min(
                len(ds.x_val), EVAL_VAL_EXAMPLES
            )
            batch = self.spec["training"]["batch_size"]
            budget = (1 - EVAL_BUDGET) / EVAL_BUDGET * n_eval / (3 * batch)
            self._eval_every = max(
                int(min(max(self.steps_per_epoch, 20), 500)), nice_interval(budget)
            )
        return self._eval_every

    @property
    def prober(self) -> Prober:
        if self._prober is None:
            ds = self.data
            p = self.spec["probes"]
            n = len(ds.x_train)
            rng = np.random.default_rng(self._subset_seed)
            idx = np.sort(rng.permutation(n)[: min(p["batch"], n)])
            self._prober = Prober(
                self.network,
                self.loss,
                ds.x_train[idx],
                ds.y_train[idx],
                bins=p["bins"],
                jacobian_every=p["jacobian_every"],
                jacobian_examples=p["jacobian_examples"],
                seed=self._probe_seed,
            )
            if self._prober_state is not None:
                self._prober.load_state(self._prober_state)
        return self._prober

    @property
    def monitor(self) -> health.HealthMonitor:
        """The health verdicts' judge (see :mod:`gradlab.experiment.health`)."""
        if self._monitor is None:
            ds = self.data
            chance = health.chance_loss(self.loss.name, ds.y_train, self.output_dim)
            self._monitor = health.HealthMonitor.for_network(
                self.network, self.prober.input_std(), chance
            )
            if self._monitor_state is not None:
                self._monitor.load_state(self._monitor_state)
        return self._monitor

    # ------------------------------------------------------------------ learning rate
    @property
    def lr(self) -> float:
        """The learning rate the next update will use: the schedule's, scaled by
        ``base_lr / training.lr`` after a change (a constant schedule gives ``base_lr``)."""
        lr = self.schedule.lr_at(self.step_count)
        start = self.spec["training"]["lr"]
        return lr if self.base_lr == start else lr * (self.base_lr / start)

    def set_lr(self, lr: float | None) -> None:
        """Change the learning rate the schedule starts from, from the next step on (None: back
        to ``training.lr``). Recorded in :attr:`lr_changes` and as an "lr" event; changes at the
        same step merge into one."""
        start = self.spec["training"]["lr"]
        lr = start if lr is None else fields.LR.validate(lr, "training.lr")
        if lr == self.base_lr:
            return
        step = self.step_count
        if self.lr_changes and self.lr_changes[-1]["step"] == step:
            last = self.lr_changes.pop()
            old = last["from"]
        else:
            old = self.base_lr
        if lr != old:
            self.lr_changes.append({"step": step, "from": old, "to": lr})
        self.base_lr = lr
        self.history.add_event(
            step, "lr", f"learning rate {old:g} -> {lr:g} from step {step:,}", severity="info"
        )

    def current_spec(self) -> dict:
        """The spec a new run would need to go on as this one does now: ``training.lr`` is the
        learning rate in force (``base_lr``)."""
        out = copy.deepcopy(self.spec)
        out["training"]["lr"] = self.base_lr
        return out

    def describe(self) -> str:
        """The run's one-line label, learning-rate changes included."""
        return naming.describe_run(self.spec, self.input_dim, self.output_dim, self.lr_changes)

    # ------------------------------------------------------------------ one step
    def _next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        ds = self.data
        n = len(ds.x_train)
        b = self.spec["training"]["batch_size"]
        if self.perm is None:
            self.perm = self.rng.permutation(n)
            self.pos = 0
        if b >= n:
            idx = self.perm
            self.epoch += 1
            self.perm = self.rng.permutation(n)
            return ds.x_train[idx], ds.y_train[idx]
        if self.pos + b > n:  # drop the remainder; a new epoch, a new order
            self.epoch += 1
            self.perm = self.rng.permutation(n)
            self.pos = 0
        idx = self.perm[self.pos : self.pos + b]
        self.pos += b
        return ds.x_train[idx], ds.y_train[idx]

    @property
    def epoch_float(self) -> float:
        """Epochs trained, with the fraction of the current one. Before the data is rebuilt (a
        reopened session) its size is unknown: the newest step row's epoch then."""
        if self._dataset is None:
            last = self.history.latest_step()
            if last is not None and last["step"] == self.step_count:
                return float(last["epoch"])
            return float(self.epoch)
        return self.epoch + self.pos / max(len(self._dataset.x_train), 1)

    def _probe_due(self, step: int) -> bool:
        """Probes every ``probe_every`` steps and at the log-spaced early steps."""
        return step % self.probe_every == 0 or step in self._log_steps

    def step(self) -> bool:
        """One training step (one batch). Returns False if it diverged (nothing was updated) or
        if early stopping ends the run after it (:attr:`status` says which)."""
        t0 = time.perf_counter()
        net, t = self.network, self.spec["training"]
        x, y = self._next_batch()
        bn_backup = {k: v.copy() for k, v in net.buffers.items()} if net.buffers else None
        with np.errstate(all="ignore"):
            out = net.forward(x, training=True)
            loss, dout = self.loss(out, y)
            l1, l2, clip = t["l1"], t["l2"], t["clip"]
            # no probe reads this step's gradients (a probe takes its own): the weight
            # gradients may stay factored until the update (gradlab.engine.fused), unless a
            # penalty or a clip by value must change them first
            formed = bool(l1 or l2 or (clip is not None and "value" in clip))
            net.backward(dout, input_grad=False, weight_grads=formed)
        if l1 or l2:
            loss += regularization.penalty(net.params, l1, l2, self.weight_names)
            regularization.add_penalty_grads(net.params, net.grads, l1, l2, self.weight_names)
        grads = self._train_grads  # (net.grads itself when no layer is frozen)
        outer = net.deferred
        gnorm = fused.global_norm(grads, outer)
        if outer and not gnorm < fused.SAFE_NORM:  # non-finite or huge: form and sum as usual
            net.form_deferred()
            outer = {}
            gnorm = regularization.global_norm(grads)
        finite = math.isfinite(loss) and math.isfinite(gnorm)
        if self.watch.loss0 is None and finite:
            self.watch.loss0 = float(loss)  # (no step-0 probe: the first batch is the reference)
        running = self.watch.check(loss) if finite else None
        if not finite or running is not None:
            if bn_backup:
                for k, v in bn_backup.items():
                    net.buffers[k][...] = v
            self._diverge(loss, running)
            return False
        clipped = False
        if clip is not None:
            if "norm" in clip:
                clipped, outer = fused.clip_by_global_norm(grads, outer, clip["norm"], gnorm)
            else:
                clipped = regularization.clip_by_value(grads, clip["value"])
        lr = self.lr
        self.optimizer.lr = lr
        if self._momentum_at is not None:
            self.optimizer.set_momentum(self._momentum_at(self.step_count))
        next_step = self.step_count + 1
        total = self.total_steps
        probe_next = self._probe_due(next_step) or next_step == total
        before = {w: net.params[w].copy() for w in self.weight_names} if probe_next else None
        # CS231n's update ratio divides by the weights before the update (a run on its way to
        # diverge may overflow them: that is for the probe to report, not for numpy to warn)
        with np.errstate(all="ignore"):
            before_norms = (
                {w.split(".")[0]: float(np.linalg.norm(before[w])) for w in self.weight_names}
                if probe_next
                else None
            )
        self.optimizer.step(net.params, grads, outer=outer)
        if t["max_norm"] is not None:
            regularization.apply_max_norm(net.params, t["max_norm"], self._train_weights)
        self.step_count = next_step
        self.history.append_step(next_step, self.epoch_float, loss, lr, gnorm, clipped)
        dt = time.perf_counter() - t0
        self._t_step = dt if self._t_step == 0 else 0.95 * self._t_step + 0.05 * dt
        if probe_next:
            with np.errstate(all="ignore"):
                norms = {
                    w.split(".")[0]: float(np.linalg.norm(net.params[w] - before[w]))
                    for w in self.weight_names
                }
            self._probe(norms, weight_norms_before=before_norms)
        if next_step % self.eval_every == 0 or next_step == total:
            return self._evaluate_and_record()  # False: early stopping ends the run here
        return True

    def _diverge(self, loss: float, running: float | None = None) -> None:
        """Stop at the last good state: a NaN/inf loss or gradient (say which layer went bad
        first), or the loss's running mean above ``training.diverge_factor`` x its initial
        value (CS231n's rule). The refused step updated nothing but the data position."""
        step = self.step_count + 1
        if running is not None:
            f = health.divergence_finding(step, self.step_count, running, self.watch)
            self.diverged = {"step": step, "layer": None, "part": "loss", "kind": f.kind,
                             "value": f.value, "line": f.line, "message": f.message}  # fmt: skip
            self.status = "diverged"
            self.history.add_event(step, f.kind, f.message, severity=f.severity, **f.fields())
            return
        net = self.network
        where = None
        for blk in net.blocks:  # forward order: the first block whose z or a is not finite
            if not (np.isfinite(blk.taps["z"]).all() and np.isfinite(blk.taps["a"]).all()):
                where = (blk.name, "activations")
                break
        if where is None:
            for blk in reversed(net.blocks):  # backward order: the first gradient to go bad
                d = blk.taps.get("delta")
                g = blk.grads["W"]
                if (d is not None and not np.isfinite(d).all()) or not np.isfinite(g).all():
                    where = (blk.name, "gradients")
                    break
        layer, part = where if where else (None, "loss")
        msg = (
            f"Training diverged at step {step}: non-finite {part}"
            + (f" first appeared in {layer}" if layer else f" (loss = {loss})")
            + f". Paused at step {self.step_count}, the last good state; lower the learning "
            "rate or clip the gradients."
        )
        self.diverged = {"step": step, "layer": layer, "part": part, "kind": "nan", "message": msg}
        self.status = "diverged"
        self.history.add_event(
            step,
            "nan",
            msg,
            layer=layer,
            severity="error",
            layers=[layer] if layer else [],
            quantity=part,
            source=health.CS231N,
        )

    def continue_after_divergence(self) -> bool:
        """Continue anyway after a divergence (the window's banner; :meth:`train` calls it on a
        diverged run too): the verdict ends with an event and the running-mean rule rests until
        the loss is back under its line (a NaN is always caught). False if not diverged."""
        if self.status != "diverged":
            return False
        info = self.diverged or {}
        kind = info.get("kind", "nan")
        self.watch.continue_anyway()
        self.history.add_event(
            self.step_count,
            f"{kind}_over",
            f"Continued anyway from step {self.step_count} after the divergence at step "
            f"{info.get('step', self.step_count + 1)}.",
            severity="info",
        )
        self.diverged = None
        self.status = "paused"
        return True

    # ------------------------------------------------------------------ probes
    def ensure_initial_probe(self) -> None:
        """Take the step-0 probe (and the theory beside it) if the history has none yet."""
        if self.history.n_probes == 0 and self.prober.count == 0:
            prober = self.prober
            self.history.set_theory(
                theory.predict(self.network, prober.input_mean_square(), prober.input_variance())
            )
            rec = self._probe(None)
            if self.watch.loss0 is None and math.isfinite(rec.loss):
                t = self.spec["training"]
                penalty = regularization.penalty(
                    self.network.params, t["l1"], t["l2"], self.weight_names
                )
                self.watch.loss0 = float(rec.loss + penalty)
            self._evaluate_and_record()

    def probe_now(self) -> None:
        """Take an extra probe at the current step unless the newest one is already here."""
        steps = self.history.probe_steps()
        if len(steps) and steps[-1] == self.step_count:
            return
        self._probe(None, scheduled=False)

    def _probe(
        self,
        update_norms: dict[str, float] | None,
        scheduled: bool = True,
        weight_norms_before: dict[str, float] | None = None,
    ) -> ProbeRecord:
        t0 = time.perf_counter()
        prober = self.prober
        index = prober.count
        rec = prober.probe(
            self.step_count, self.epoch_float, self.lr, update_norms, scheduled, weight_norms_before
        )
        self.history.append_probe(rec, index)
        if self.weights is not None:
            self.weights.add(index, self.step_count, self.network)
        t_jac = rec.extra.get("t_jacobian", 0.0)
        dt = time.perf_counter() - t0 - t_jac
        self._t_probe = dt if self._t_probe == 0 else 0.8 * self._t_probe + 0.2 * dt
        if rec.jacobian:
            self._t_jacobian = t_jac if self._t_jacobian == 0 else 0.5 * (self._t_jacobian + t_jac)
        if scheduled:  # (extra probes at a pause would make verdicts depend on the pauses)
            self.monitor.probe(rec, self.network, self.history)
        if self.spec["probes"]["every"] == "auto" and self._t_step > 0 and index >= 2:
            # the Jacobian's cost is spread over the probes that skip it
            per_probe = self._t_probe + self._t_jacobian / max(prober.jacobian_every, 1)
            per_step = max(self._t_step, self.pace or 0.0)
            k = nice_interval((1 - PROBE_BUDGET) / PROBE_BUDGET * per_probe / per_step)
            if k != self.probe_every and (k > self.probe_every or k <= self.probe_every // 4):
                self.probe_every = k
        return rec

    # ------------------------------------------------------------------ evaluation
    def evaluate(self) -> dict[str, float]:
        """Loss and accuracy on a fixed training subset and on the validation set (evaluation
        mode: running BN statistics, no dropout); with ``training.mc_dropout`` = N, also the
        validation loss and accuracy of MC dropout (``val_loss_mc``, ``val_acc_mc``: N passes
        with dropout on, their probabilities averaged; masks from a generator of their own, so
        the run's course does not change)."""
        ds = self.data
        rng = np.random.default_rng(self._subset_seed + 1)
        n = len(ds.x_train)
        idx = np.sort(rng.permutation(n)[:EVAL_TRAIN_EXAMPLES])
        tl, ta = self._metrics(ds.x_train[idx], ds.y_train[idx])
        out = {"train_loss": tl, "train_acc": ta, "val_loss": math.nan, "val_acc": math.nan}
        if len(ds.x_val):
            x, y = ds.x_val[:EVAL_VAL_EXAMPLES], ds.y_val[:EVAL_VAL_EXAMPLES]
            out["val_loss"], out["val_acc"] = self._metrics(x, y)
            passes = self.spec["training"]["mc_dropout"]
            if passes:
                mc_rng = np.random.default_rng([self._subset_seed, 2, self.step_count])
                out["val_loss_mc"], out["val_acc_mc"] = mcdropout.metrics(
                    self.network, self.loss, x, y, passes, mc_rng
                )
        return out

    def _metrics(self, x: np.ndarray, y: np.ndarray, chunk: int = 2000) -> tuple[float, float]:
        total = correct = 0.0
        with np.errstate(all="ignore"):
            for i in range(0, len(x), chunk):
                out = self.network.forward(x[i : i + chunk], training=False)
                loss, _ = self.loss(out, y[i : i + chunk])
                total += loss * len(out)
                correct += losses.accuracy(self.loss, out, y[i : i + chunk]) * len(out)
        return total / len(x), correct / len(x)

    def _evaluate_and_record(self, scheduled: bool = True) -> bool:
        """Evaluate and record; only scheduled evaluations (every ``eval_every`` steps and at the
        end of the budget) feed a plateau schedule and early stopping, so pausing never changes
        the run. False when early stopping ends the run here."""
        if self._last_eval_step == self.step_count:
            return True
        m = self.evaluate()
        self._last_eval_step = self.step_count
        self.history.append_eval(self.step_count, **m)
        metric = m["val_loss"] if math.isfinite(m["val_loss"]) else m["train_loss"]
        if not scheduled:
            return True
        if self.step_count > 0:
            self.monitor.evaluation(self.step_count, m["train_loss"], self.history)
        if math.isfinite(metric) and self.schedule.observe(self.step_count, metric):
            self.history.add_event(
                self.step_count,
                "lr",
                f"plateau: learning rate reduced to {self.schedule.lr_at(self.step_count):g}",
                severity="info",
            )
        es = self.early_stopping
        if es is None or self.step_count == 0:
            return True
        stop = es.observe(self.step_count, m, self.network.state_arrays())
        if es.index == 1 and es.used != es.monitor:
            self.history.add_event(
                self.step_count, "early_stopping",
                f"Early stopping watches {es.used}: the data has no validation set for "
                f"{es.monitor}.", severity="info",
            )  # fmt: skip
        if stop:
            self.status = "stopped early"
        return not stop

    # ------------------------------------------------------------------ the loop
    def request_stop(self) -> None:
        """Ask a running :meth:`run` to stop after the current step (thread-safe)."""
        self._stop.set()

    def train(
        self,
        steps: int | None = None,
        *,
        report_every: float = 0.05,
        max_steps_per_yield: int | None = None,
    ) -> Iterator[Report]:
        """Train ``steps`` more steps (default: up to the budget; forever without one),
        yielding a :class:`Report` every ``report_every`` seconds (or ``max_steps_per_yield``
        steps) and a last one when it ends. Stop iterating to pause.

        ``steps`` past the budget raise it (:meth:`raise_budget`): a finished or loaded run
        trains on. A diverged run continues anyway (:meth:`continue_after_divergence`).
        """
        self.ensure_initial_probe()
        if self.status == "diverged":
            self.continue_after_divergence()
        elif self.status == "stopped early":
            self._continue_after_early_stop()
        budget = self.total_steps
        target = None if steps is None else self.step_count + steps
        if budget is not None:
            if target is None:
                target = budget
            elif target > budget:
                self.raise_budget(target)
                budget = target
        self.status = "running"
        t_last = time.perf_counter()
        s_last = self.step_count
        n_since = 0
        try:
            while target is None or self.step_count < target:
                if not self.step():
                    if self.status == "stopped early":
                        self.probe_now()  # the history shows the run as it went; the
                        message = self._finish_training(stopped=True)  # network: its best
                        yield self._report("stopped early", t_last, s_last, message)
                        return
                    yield self._report("diverged", t_last, s_last, self.diverged["message"])
                    return
                n_since += 1
                now = time.perf_counter()
                if now - t_last >= report_every or (
                    max_steps_per_yield is not None and n_since >= max_steps_per_yield
                ):
                    yield self._report("running", t_last, s_last)
                    t_last, s_last, n_since = time.perf_counter(), self.step_count, 0
            done = budget is not None and self.step_count >= budget
            self.probe_now()
            self._evaluate_and_record(scheduled=False)
            message = self._finish_training(stopped=False) if done else ""
            self.status = "done" if done else "paused"
            yield self._report("done" if done else "running", t_last, s_last, message)
        finally:
            if self.status == "running":
                self.status = "paused"

    def _finish_training(self, stopped: bool) -> str:
        """Training ends (stopped early, or the budget reached): early stopping puts back the
        weights of its best evaluation, as Keras does at the end of ``fit``; the stop and the
        restoration are events. Returns the sentence to report ("" when nothing happened)."""
        es = self.early_stopping
        if es is None:
            return ""
        step = self.step_count
        restored = es.best_step != self._last_eval_step and es.restore(
            self.network.state_arrays()
        )
        fields = {"best_step": es.best_step, "monitor": es.used,
                  "best": es.best if math.isfinite(es.best) else None}  # fmt: skip
        if stopped:
            message = es.stop_message(restored)
            self.history.add_event(step, "stopped_early", message, severity="info", **fields)
        elif restored:
            message = (f"Training ended at step {step:,}; early stopping restored the weights "
                       f"of its best evaluation ({es.best_text()}).")
            self.history.add_event(step, "restored_best", message, severity="info", **fields)
        else:
            return ""
        return message

    def _continue_after_early_stop(self) -> None:
        """Train on after a stop (Keras' next ``fit``): patience counts again from zero."""
        self.early_stopping.resume()
        self.history.add_event(
            self.step_count, "stopped_early_over",
            f"Training goes on from step {self.step_count:,} after stopping early.",
            severity="info",
        )  # fmt: skip
        self.status = "paused"

    def raise_budget(self, total: int) -> None:
        """Make the step budget ``total`` steps (``training.steps``; an epoch budget becomes a
        step budget), recorded as an event. A schedule resolved against the old budget (cosine
        without its own ``total_steps``) keeps the old one: it has annealed, and the extra steps
        run at its final rate; give the schedule ``total_steps`` to plan a longer anneal."""
        t = self.spec["training"]
        old = self.total_steps
        t["steps"], t["epochs"] = int(total), None
        if self.status == "done" and self.step_count < total:
            self.status = "paused"
        self.history.add_event(
            self.step_count,
            "budget",
            f"Step budget raised from {old:,} to {int(total):,} steps."
            if old is not None
            else f"Step budget set to {int(total):,} steps.",
            severity="info",
        )

    def _report(self, status: str, t_last: float, s_last: int, message: str = "") -> Report:
        dt = time.perf_counter() - t_last
        rate = (self.step_count - s_last) / dt if dt > 0 else 0.0
        last = self.history.latest_step()
        loss = last["loss"] if last else math.nan
        return Report(
            self.step_count,
            self.epoch_float,
            loss,
            self.lr,
            rate,
            status,
            self.prober.count,
            message,
        )

    def run(
        self, steps: int | None = None, callback: Callable[[Report], Any] | None = None
    ) -> History:
        """Run the loop to the end (or until ``callback`` returns False, or
        :meth:`request_stop`); returns the history."""
        self._stop.clear()
        for report in self.train(steps):
            if callback is not None and callback(report) is False:
                break
            if self._stop.is_set() or report.status == "diverged":
                break
        return self.history

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write a ``.gradlab`` session (atomic: the previous file survives a failed save);
        see :mod:`gradlab.experiment.checkpoint`."""
        from gradlab.experiment import checkpoint

        return checkpoint.save(self, path)

    def _monitor_state_now(self) -> dict | None:
        return self._monitor.state() if self._monitor is not None else self._monitor_state

    def _load_health(self, state: dict) -> None:
        """Restore the divergence rule and the verdicts; a session from before they were saved
        (``{"vanishing": False, ...}``) takes its standing verdicts from its events and its
        initial loss from its step-0 probe."""
        if isinstance(state.get("watch"), dict):
            self.watch.load_state(state["watch"])
        elif self.history.n_probes and self.history.probe(0)["step"] == 0:
            self.watch.loss0 = float(self.history.probe(0)["loss"])
        if isinstance(state.get("monitor"), dict):
            self._monitor_state = state["monitor"]
        else:
            standing = health.active_events(self.history)
            self._monitor_state = {
                "active": {
                    e["kind"]: {"step": e["step"]}
                    for e in standing
                    if e["kind"] not in ("nan", "diverged")
                }
            }


def load_session(path: str | Path) -> Experiment:
    """Open a ``.gradlab`` session (:func:`gradlab.experiment.checkpoint.load_session`)."""
    from gradlab.experiment import checkpoint

    return checkpoint.load_session(path)
