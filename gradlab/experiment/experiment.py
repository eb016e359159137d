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
:func:`load_session` followed by more training gives bit for bit the run that was never stopped.
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
from gradlab import session, threads
from gradlab._version import __version__
from gradlab.engine import Network, losses, optimizers, regularization, resolve_layers, schedules
from gradlab.errors import DataError, SessionError, SpecError
from gradlab.experiment import restore as restoring
from gradlab.experiment import spec as specs
from gradlab.experiment import theory
from gradlab.experiment.history import History
from gradlab.experiment.limits import check as check_limits
from gradlab.experiment.probes import Prober, ProbeRecord
from gradlab.safeio import printable

#: evaluation sample sizes (a fixed subset of the training set; the validation set up to this)
EVAL_TRAIN_EXAMPLES = 1000
EVAL_VAL_EXAMPLES = 10000
#: "auto" evaluations may cost about this fraction of the time (an evaluated example costs about
#: a third of a trained one: a forward pass without backward and update)
EVAL_BUDGET = 0.05
#: probes may cost at most 10% of the time when ``probes.every`` is "auto" (DESIGN.md); the
#: interval is sized for 7%, since a probe also cools the caches the next steps rely on
PROBE_BUDGET = 0.07
#: health thresholds (DESIGN.md): first/last hidden speed of learning, saturated/dead fractions
VANISHING_RATIO = 1e-2
EXPLODING_RATIO = 1e2
SATURATION_WARN = 0.5
DEAD_WARN = 0.5

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
    status: str  # "running", "done" (budget reached), "diverged"
    probes: int  # probes taken so far (serial count)
    message: str = ""


class Experiment:
    """A runnable, inspectable, savable experiment (see the module docstring).

    Attributes
    ----------
    spec : the resolved spec (every default filled in, output layer explicit).
    network, loss, optimizer, schedule : the engine objects.
    history : :class:`~gradlab.experiment.history.History`.
    step_count : updates applied so far.
    status : "ready", "running", "paused", "done" or "diverged".
    """

    def __init__(
        self, spec: dict, *, dataset: datasets.Dataset | None = None, _dims: dict | None = None
    ):
        threads.ensure_configured()
        self.spec = specs.resolve(spec)
        check_limits(self.spec, _dims)  # bounds and memory, before the data is read (issue 10)
        s = self.spec
        self.seed = s["seed"]
        self._dataset = dataset
        self._preprocess_state: dict | None = None
        self.data_error: str | None = None
        if _dims is None:
            ds = self.data
            _dims = {"input_dim": ds.input_dim, "output_dim": ds.n_classes}
            self.spec["data"] = copy.deepcopy(ds.resolved)
        self.input_dim = _dims["input_dim"]
        self.output_dim = _dims["output_dim"]
        try:
            layers = resolve_layers(s["network"]["layers"], self.output_dim)
        except SpecError as err:
            raise err.prefixed("network") from None
        s["network"]["layers"] = layers
        check_limits(s, {"input_dim": self.input_dim, "output_dim": self.output_dim})
        self.network = Network(layers, self.input_dim, self.output_dim, self.seed, s["dtype"])
        t = s["training"]
        self.loss = losses.get(t["loss"])
        out_act = layers[-1]["activation"]
        if self.loss.expects_linear_outputs and out_act != "linear":
            raise SpecError(
                f"network.layers[{len(layers) - 1}].activation",
                f"{t['loss']} applies its own squashing to the logits, so the output layer must "
                f"be linear, got {out_act}",
            )
        opt = dict(t["optimizer"])
        self.optimizer = optimizers.get(opt.pop("name"), lr=t["lr"], **opt)
        sched = dict(t["schedule"])
        try:
            self.schedule = schedules.get(sched.pop("name"), lr=t["lr"], **sched)
            self.schedule.resolve(self.total_steps)
        except SpecError as err:
            raise err.prefixed("training.schedule") from None

        self.weight_names = [f"{b.name}.W" for b in self.network.blocks]
        p = s["probes"]
        self.history = History(self.network.layer_names, p["bins"], probe_capacity=p["capacity"])
        self._prober: Prober | None = None
        self._prober_state: dict | None = None

        seq = np.random.SeedSequence(self.seed).spawn(4)
        self.rng = np.random.default_rng(seq[0])  # batch order
        self._probe_seed = int(seq[1].generate_state(1)[0])
        self._subset_seed = int(seq[2].generate_state(1)[0])

        self.step_count = 0
        self.epoch = 0  # completed passes over the training set
        self.pos = 0  # position in the current permutation
        self.perm: np.ndarray | None = None
        self.lr_override: float | None = None
        self.probe_every = 10 if p["every"] == "auto" else p["every"]
        self.status = "ready"
        self.diverged: dict | None = None
        self._health = {"vanishing": False, "exploding": False, "saturation": False, "dead": False}
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
        """The dataset, built on first use (a loaded session does not rebuild it until needed)."""
        if self._dataset is None:
            try:
                self._dataset = restoring.fits_order(self, datasets.load(
                    self.spec["data"], self.seed, preprocess_state=self._preprocess_state
                ))
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
            n_eval = min(len(ds.x_train), EVAL_TRAIN_EXAMPLES) + min(
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

    # ------------------------------------------------------------------ learning rate
    @property
    def lr(self) -> float:
        """The learning rate the next update will use."""
        if self.lr_override is not None:
            return self.lr_override
        return self.schedule.lr_at(self.step_count)

    def set_lr(self, lr: float | None) -> None:
        """Override the schedule from the next step on (None: back to the schedule)."""
        if lr is not None and not (math.isfinite(lr) and lr > 0):
            raise SpecError("training.lr", f"must be > 0, got {lr}")
        self.lr_override = lr
        msg = (
            f"learning rate set to {lr:g}"
            if lr is not None
            else "learning rate back on its schedule"
        )
        self.history.add_event(self.step_count, "lr", msg, severity="info")

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
        n = len(self.data.x_train) if self._dataset is not None else 1
        return self.epoch + self.pos / max(n, 1)

    def _probe_due(self, step: int) -> bool:
        return step % self.probe_every == 0

    def step(self) -> bool:
        """One training step (one batch). Returns False if it diverged (nothing was updated)."""
        t0 = time.perf_counter()
        net, t = self.network, self.spec["training"]
        x, y = self._next_batch()
        bn_backup = {k: v.copy() for k, v in net.buffers.items()} if net.buffers else None
        with np.errstate(all="ignore"):
            out = net.forward(x, training=True)
            loss, dout = self.loss(out, y)
            net.backward(dout, input_grad=False)
        l1, l2 = t["l1"], t["l2"]
        if l1 or l2:
            loss += regularization.penalty(net.params, l1, l2, self.weight_names)
            regularization.add_penalty_grads(net.params, net.grads, l1, l2, self.weight_names)
        gnorm = regularization.global_norm(net.grads)
        if not (math.isfinite(loss) and math.isfinite(gnorm)):
            if bn_backup:
                for k, v in bn_backup.items():
                    net.buffers[k][...] = v
            self._diverge(loss)
            return False
        clipped = False
        clip = t["clip"]
        if clip is not None:
            if "norm" in clip:
                _, clipped = regularization.clip_by_global_norm(net.grads, clip["norm"], gnorm)
            else:
                clipped = regularization.clip_by_value(net.grads, clip["value"])
        lr = self.lr
        self.optimizer.lr = lr
        next_step = self.step_count + 1
        total = self.total_steps
        probe_next = self._probe_due(next_step) or next_step == total
        before = {w: net.params[w].copy() for w in self.weight_names} if probe_next else None
        self.optimizer.step(net.params, net.grads)
        if t["max_norm"] is not None:
            regularization.apply_max_norm(net.params, t["max_norm"], self.weight_names)
        self.step_count = next_step
        self.history.append_step(next_step, self.epoch_float, loss, lr, gnorm, clipped)
        dt = time.perf_counter() - t0
        self._t_step = dt if self._t_step == 0 else 0.95 * self._t_step + 0.05 * dt
        if probe_next:
            norms = {
                w.split(".")[0]: float(np.linalg.norm(net.params[w] - before[w]))
                for w in self.weight_names
            }
            self._probe(norms)
        if next_step % self.eval_every == 0 or next_step == total:
            self._evaluate_and_record()
        return True

    def _diverge(self, loss: float) -> None:
        """A NaN/inf loss or gradient: find the first layer that went bad, pause, say so."""
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
        step = self.step_count + 1
        msg = (
            f"Training diverged at step {step}: non-finite {part}"
            + (f" first appeared in {layer}" if layer else f" (loss = {loss})")
            + f". Paused at step {self.step_count}, the last good state; lower the learning "
            "rate or clip the gradients."
        )
        self.diverged = {"step": step, "layer": layer, "part": part, "message": msg}
        self.status = "diverged"
        self.history.add_event(step, "nan", msg, layer=layer, severity="error")

    # ------------------------------------------------------------------ probes
    def ensure_initial_probe(self) -> None:
        """Take the step-0 probe (and the theory beside it) if the history has none yet."""
        if self.history.n_probes == 0 and self.prober.count == 0:
            self.history.set_theory(theory.predict(self.network, self.prober.input_mean_square()))
            self._probe(None)
            self._evaluate_and_record()

    def probe_now(self) -> None:
        """Take an extra probe at the current step unless the newest one is already here."""
        steps = self.history.probe_steps()
        if len(steps) and steps[-1] == self.step_count:
            return
        self._probe(None, scheduled=False)

    def _probe(self, update_norms: dict[str, float] | None, scheduled: bool = True) -> ProbeRecord:
        t0 = time.perf_counter()
        prober = self.prober
        index = prober.count
        rec = prober.probe(self.step_count, self.epoch_float, self.lr, update_norms, scheduled)
        self.history.append_probe(rec, index)
        t_jac = rec.extra.get("t_jacobian", 0.0)
        dt = time.perf_counter() - t0 - t_jac
        self._t_probe = dt if self._t_probe == 0 else 0.8 * self._t_probe + 0.2 * dt
        if rec.jacobian:
            self._t_jacobian = t_jac if self._t_jacobian == 0 else 0.5 * (self._t_jacobian + t_jac)
        self._check_health(rec)
        if self.spec["probes"]["every"] == "auto" and self._t_step > 0 and index >= 2:
            # the Jacobian's cost is spread over the probes that skip it
            per_probe = self._t_probe + self._t_jacobian / max(prober.jacobian_every, 1)
            per_step = max(self._t_step, self.pace or 0.0)
            k = nice_interval((1 - PROBE_BUDGET) / PROBE_BUDGET * per_probe / per_step)
            if k != self.probe_every and (k > self.probe_every or k <= self.probe_every // 4):
                self.probe_every = k
        return rec

    def _check_health(self, rec: ProbeRecord) -> None:
        h = self.history
        names = self.network.layer_names
        hidden = len(names) - 1
        st = rec.stats
        if rec.first_bad_layer is not None:
            h.add_event(
                rec.step,
                "nonfinite",
                f"non-finite values in {names[rec.first_bad_layer]} at step {rec.step}",
                layer=names[rec.first_bad_layer],
                severity="error",
            )
            return  # the other signs mean nothing on non-finite statistics

        def flag(key: str, on: bool, msg_on: str, msg_off: str, layer: str | None) -> None:
            if on != self._health[key]:
                self._health[key] = on
                h.add_event(
                    rec.step,
                    key if on else f"{key}_over",
                    msg_on if on else msg_off,
                    layer=layer,
                    severity="warning" if on else "info",
                )

        if hidden >= 2:
            first, last = st["bias_grad_norm"][0], st["bias_grad_norm"][hidden - 1]
            ratio = first / last if last > 0 else (math.inf if first > 0 else 1.0)
            if math.isfinite(first) and math.isfinite(last):
                flag(
                    "vanishing",
                    ratio < VANISHING_RATIO,
                    f"vanishing gradients: the first hidden layer learns {1 / ratio:.3g}x slower "
                    f"than the last (||dC/db|| {first:.2e} vs {last:.2e})",
                    "vanishing gradients over",
                    names[0],
                )
                flag(
                    "exploding",
                    ratio > EXPLODING_RATIO,
                    f"exploding gradients: the first hidden layer's ||dC/db|| is {ratio:.3g}x "
                    f"the last one's ({first:.2e} vs {last:.2e})",
                    "exploding gradients over",
                    names[0],
                )
        if hidden >= 1:
            # saturation warns for activations that flatten on both sides (sigmoid, tanh,
            # softsign); a ReLU's zero side is normal: its warning sign is dead units
            two_sided = np.array([b.act.saturates == "both" for b in self.network.blocks[:hidden]])
            sat = np.where(two_sided, st["act_saturated"][:hidden], np.nan)
            dead = st["act_dead"][:hidden]
            i_sat = int(np.nanargmax(sat)) if np.isfinite(sat).any() else 0
            i_dead = int(np.nanargmax(dead)) if np.isfinite(dead).any() else 0
            flag(
                "saturation",
                bool(sat[i_sat] > SATURATION_WARN),
                f"saturation: {sat[i_sat]:.0%} of {names[i_sat]}'s activations sit where f' < 1% "
                "of its maximum",
                "saturation over",
                names[i_sat],
            )
            flag(
                "dead",
                bool(dead[i_dead] > DEAD_WARN),
                f"dead units: {dead[i_dead]:.0%} of {names[i_dead]}'s units have no gradient "
                "for any example of the probe batch",
                "dead units recovered",
                names[i_dead],
            )

    # ------------------------------------------------------------------ evaluation
    def evaluate(self) -> dict[str, float]:
        """Loss and accuracy on a fixed training subset and on the validation set (evaluation
        mode: running BN statistics, no dropout)."""
        ds = self.data
        rng = np.random.default_rng(self._subset_seed + 1)
        n = len(ds.x_train)
        idx = np.sort(rng.permutation(n)[:EVAL_TRAIN_EXAMPLES])
        tl, ta = self._metrics(ds.x_train[idx], ds.y_train[idx])
        if len(ds.x_val):
            vl, va = self._metrics(ds.x_val[:EVAL_VAL_EXAMPLES], ds.y_val[:EVAL_VAL_EXAMPLES])
        else:
            vl = va = math.nan
        return {"train_loss": tl, "train_acc": ta, "val_loss": vl, "val_acc": va}

    def _metrics(self, x: np.ndarray, y: np.ndarray, chunk: int = 2000) -> tuple[float, float]:
        total = correct = 0.0
        with np.errstate(all="ignore"):
            for i in range(0, len(x), chunk):
                out = self.network.forward(x[i : i + chunk], training=False)
                loss, _ = self.loss(out, y[i : i + chunk])
                total += loss * len(out)
                correct += losses.accuracy(self.loss, out, y[i : i + chunk]) * len(out)
        return total / len(x), correct / len(x)

    def _evaluate_and_record(self, scheduled: bool = True) -> None:
        """Evaluate and record; only scheduled evaluations (every ``eval_every`` steps and at the
        end of the budget) feed a plateau schedule, so pausing never changes the run."""
        if self._last_eval_step == self.step_count:
            return
        m = self.evaluate()
        self._last_eval_step = self.step_count
        self.history.append_eval(self.step_count, **m)
        metric = m["val_loss"] if math.isfinite(m["val_loss"]) else m["train_loss"]
        if not scheduled:
            return
        if math.isfinite(metric) and self.schedule.observe(self.step_count, metric):
            self.history.add_event(
                self.step_count,
                "lr",
                f"plateau: learning rate reduced to {self.schedule.lr_at(self.step_count):g}",
                severity="info",
            )

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
        """Train up to ``steps`` more steps (default: up to the budget; forever without one),
        yielding a :class:`Report` every ``report_every`` seconds (or ``max_steps_per_yield``
        steps) and a last one when it ends. Stop iterating to pause.
        """
        self.ensure_initial_probe()
        if self.status == "diverged":
            self.status = "paused"
            self.diverged = None
        budget = self.total_steps
        target = None if steps is None else self.step_count + steps
        if budget is not None:
            target = budget if target is None else min(target, budget)
        self.status = "running"
        t_last = time.perf_counter()
        s_last = self.step_count
        n_since = 0
        try:
            while target is None or self.step_count < target:
                if not self.step():
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
            self.status = "done" if done else "paused"
            yield self._report("done" if done else "running", t_last, s_last)
        finally:
            if self.status == "running":
                self.status = "paused"

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
        """Write a ``.gradlab`` session (atomic: the previous file survives a failed save)."""
        path = Path(path)
        meta, arrays = self.history.to_arrays()
        for k, v in self.network.state_arrays().items():
            arrays[f"network/{k}"] = v
        opt_state = self.optimizer.state_dict()
        for slot, per in opt_state["slots"].items():
            for k, v in per.items():
                arrays[f"optimizer/{slot}/{k}"] = v
        if self.perm is not None:
            arrays["trainer/perm"] = self.perm
        ds = self._dataset
        pre = ds.preprocess_state if ds is not None else (self._preprocess_state or {})
        for k, v in pre.items():
            arrays[f"data/preprocess/{k}"] = np.asarray(v)
        manifest = {
            "name": self.name,
            "spec": self.spec,
            "seed": self.seed,
            "step_count": self.step_count,
            "dims": {"input_dim": self.input_dim, "output_dim": self.output_dim},
            "trainer": {
                "epoch": self.epoch,
                "pos": self.pos,
                "has_perm": self.perm is not None,
                "rng": self.rng.bit_generator.state,
                "dropout_rng": self.network.rng.bit_generator.state,
                "lr_override": self.lr_override,
                "probe_every": self.probe_every,
                "status": self.status if self.status in ("diverged", "done") else "paused",
                "diverged": self.diverged,
                "health": self._health,
                "last_eval_step": self._last_eval_step,
                "t_step": self._t_step,
                "t_probe": self._t_probe,
                "t_jacobian": self._t_jacobian,
            },
            "optimizer": {
                "name": opt_state["name"],
                "hyper": opt_state["hyper"],
                "t": opt_state["t"],
                "slots": sorted(opt_state["slots"]),
            },
            "schedule": self.schedule.state_dict(),
            "prober": (self._prober.state() if self._prober is not None else self._prober_state),
            "history": meta,
            "gradlab_version": __version__,
        }
        session.write(path, manifest, arrays)
        self.path = path
        return path

    @classmethod
    def _from_session(
        cls, manifest: dict, arrays: dict[str, np.ndarray], path: Path, prepared=None
    ) -> Experiment:
        """The experiment a session holds; ``prepared`` is :func:`restoring.prepare`'s result when
        the arrays table was checked before inflating (see :func:`load_session`)."""
        if prepared is None:
            table = {k: (v.shape, v.dtype) for k, v in arrays.items()}
            prepared = restoring.prepare(cls, manifest, table)
        restoring.apply(prepared, manifest, arrays)
        prepared.path = path
        return prepared


def load_session(path: str | Path) -> Experiment:
    """Open a ``.gradlab`` session: its history can be shown at once and training resumes
    exactly where it stopped. The dataset is rebuilt on first use (``exp.data``); if it cannot
    be (a data file has moved), the history is still there and ``exp.data_error`` says why.

    Files from anyone are safe to open: every value the manifest holds is checked and the
    arrays table must be what the session's own spec implies before anything is inflated
    (:mod:`gradlab.experiment.restore`). Raises :class:`~gradlab.errors.SessionError` with one
    sentence for anything unreadable or inconsistent.
    """
    path = Path(path)
    prepared: list[Experiment] = []

    def check(manifest: dict, table: dict) -> None:  # before any array is inflated
        prepared.append(_restoring(path, lambda: restoring.prepare(Experiment, manifest, table)))

    manifest, arrays = session.read(path, check=check)
    return _restoring(
        path,
        lambda: Experiment._from_session(manifest, arrays, path,
                                         prepared[0] if prepared else None),
    )


def _restoring(path: Path, work: Callable[[], Any]) -> Any:
    """``work()``, with anything it raises turned into one SessionError sentence."""
    name = printable(path.name, 120)
    try:
        return work()
    except SessionError:
        raise
    except (restoring.RestoreError, SpecError) as err:
        raise SessionError(f"{name} could not be restored: {str(err).rstrip('.')}.") from None
    except MemoryError:
        raise SessionError(f"{name} could not be restored: not enough memory.") from None
    except (KeyError, TypeError, ValueError, IndexError, ArithmeticError, AttributeError,
            RecursionError) as err:
        detail = printable(" ".join(str(err.args[0] if err.args else type(err).__name__)
                                    .split()), 160)
        raise SessionError(
            f"{name} could not be restored: its contents do not fit together ({detail})."
        ) from None
