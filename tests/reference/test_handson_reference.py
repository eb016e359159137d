"""Reference checks against PyTorch for Hands-On ML chapter 11's pieces: PReLU's learned slopes
and RReLU (evaluation) exported as PyTorch code compute what GradLab computes; Nadam follows
``torch.optim.NAdam`` step by step. (Runs with GRADLAB_REFERENCE=1, see test_pytorch_reference.)
"""

from __future__ import annotations

import numpy as np
import torch

from gradlab.engine import optimizers
from gradlab.experiment import Experiment
from gradlab.experiment.netexport import pytorch_snippet, save_weights_npz


def test_prelu_and_rrelu_export_to_pytorch(tmp_path):
    exp = Experiment({
        "name": "acts", "seed": 2, "data": {"name": "moons"},
        "network": {"layers": [{"units": 12, "activation": "prelu"},
                               {"units": 10, "activation": "rrelu", "lower": 0.1, "upper": 0.4},
                               {"units": 8, "activation": "prelu", "alpha": 0.05}]},
        "training": {"steps": 150, "lr": 0.02},
    })
    exp.run()
    net = exp.network
    alpha = net.params["dense1.alpha"]
    assert np.abs(alpha - 0.25).max() > 1e-3  # the slopes were learned
    weights = save_weights_npz(net, tmp_path / "acts.npz")
    ns: dict = {}
    exec(compile(pytorch_snippet(net.layers, net.input_dim), "acts.py", "exec"), ns)
    model = ns["build_model"]()
    ns["load_gradlab_weights"](model, weights)
    model.eval()
    np.testing.assert_array_equal(model.act1.weight.detach().numpy(), alpha)
    x = 2 * np.random.default_rng(0).standard_normal((300, 2)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, net.predict(x), atol=1e-5, rtol=1e-5)


def test_nadam_follows_torch_nadam():
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((5, 3))
    ours = {"w": w0.copy()}
    theirs = torch.tensor(w0.copy(), requires_grad=True)
    opt = optimizers.get("nadam", lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=0.004)
    topt = torch.optim.NAdam([theirs], lr=0.01, betas=(0.9, 0.999), eps=1e-8,
                             momentum_decay=0.004)
    for _ in range(50):
        g = rng.standard_normal((5, 3))
        opt.step(ours, {"w": g})
        theirs.grad = torch.tensor(g)
        topt.step()
    # (the same arithmetic in another order: float64 rounding, ~1e-9 after 50 steps)
    np.testing.assert_allclose(ours["w"], theirs.detach().numpy(), rtol=1e-7, atol=1e-9)
