"""Reference checks against PyTorch: the exported PyTorch code, run by PyTorch with the exported
weights, computes what GradLab computes, and initialises with GradLab's spread.

PyTorch is not a GradLab dependency (not even of the tests): this suite runs where PyTorch is
installed, and CI installs it for it (``.ci/run``: ``pip install torch==2.13.0``, then
``GRADLAB_REFERENCE=1 pytest tests/reference``). The default test run leaves it out (see
tests/conftest.py) rather than skipping it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradlab.engine import Network
from gradlab.experiment.netexport import pytorch_snippet, save_weights_npz
from tests.test_export import zoo_experiment  # noqa: F401 (the fixture)


def test_pytorch_snippet_reproduces_the_trained_network(zoo_experiment, tmp_path):  # noqa: F811
    """The real proof: PyTorch running the snippet with the exported weights computes what
    GradLab computes."""
    net = zoo_experiment.network
    weights = save_weights_npz(net, tmp_path / "zoo.npz")
    ns: dict = {}
    exec(compile(pytorch_snippet(net.layers, net.input_dim, name="zoo"), "zoo.py", "exec"), ns)
    model = ns["build_model"]()
    ns["load_gradlab_weights"](model, weights)
    model.eval()
    x = 3 * np.random.default_rng(1).standard_normal((256, 2)).astype(np.float32)
    # every block's activation, not only the (squashed) output: module "act{l}" (or "dense{l}"
    # for a linear block) must give GradLab's a(l)
    seen: dict[str, np.ndarray] = {}
    for name, module in model.named_children():
        module.register_forward_hook(
            lambda _m, _i, out, name=name: seen.__setitem__(name, out.numpy())
        )
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    ref = net.predict(x)
    np.testing.assert_allclose(y, ref, atol=1e-5, rtol=1e-5)
    for l, block in enumerate(net.blocks, start=1):
        got = seen.get(f"act{l}", seen[f"dense{l}"])
        scale = max(1.0, float(np.abs(block.taps["a"]).max()))
        np.testing.assert_allclose(got, block.taps["a"], atol=1e-5 * scale, err_msg=block.name)


def test_pytorch_snippet_initialises_like_gradlab(tmp_path):
    """Fresh weights from the snippet have GradLab's spread (the gain included)."""
    torch.manual_seed(0)
    inits = ["glorot_standard", "glorot_uniform", "he_normal", "lecun_uniform"]
    layers = [{"units": 300, "activation": "tanh", "init": i, "gain": 1.5} for i in inits]
    net = Network.from_spec(layers, 200, 10, seed=0)
    ns: dict = {}
    exec(compile(pytorch_snippet(net.layers, 200), "init.py", "exec"), ns)
    model = ns["build_model"]()
    for block in net.blocks[:-1]:
        w = getattr(model, block.name).weight.detach().numpy()
        assert w.shape == block.params["W"].T.shape
        assert w.std() == pytest.approx(block.params["W"].std(), rel=0.05), block.init
