"""Shared demo machinery: command line, output folder, figures, GIFs and the JSON sidecar.

Every demo is ``main(argv=None) -> dict``; the dict is the JSON sidecar that was written. The
common command line is::

    --out DIR     output folder (default: figures/)
    --quick       tiny sizes, for tests (seconds)
    --seed INT    random seed (default 0)
    --device STR  torch device for the trainers (default: cpu)

The matplotlib backend is forced to Agg (no display needed) before pyplot is imported. A demo
announces itself when it starts (name, what it draws, its expected wall time) and long ones print
stage lines (:meth:`Demo.stage`), so that a run shows progress from its first second. Figures are
saved at :data:`DPI` dots per inch.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from demos.registry import DEMOS, SECONDS

__all__ = ["DPI", "Demo", "jsonable", "parse_args", "quiet_warnings", "train_critic",
           "versions"]

DEFAULT_OUT = "figures"
#: resolution of every saved figure (dots per inch)
DPI = 160


def _about(name: str, quick: bool) -> str:
    """``"<title> (about N s)"`` from the registry (:mod:`demos.registry`)."""
    title = next((row[1] for row in DEMOS if row[0] == name), "starting")
    if quick or name not in SECONDS:
        return title
    return f"{title} (about {SECONDS[name]} s on a 2-core CPU)"


def quiet_warnings():
    """Silence the library warnings a demo's user cannot act on (matplotlib layout notes,
    torch's and numba's deprecation / performance notices, sklearn's convergence chatter in the
    small digit classifier). otgan's own warnings stay visible."""
    for category, module in ((UserWarning, "matplotlib"), (UserWarning, "torch"),
                             (RuntimeWarning, "mpl_toolkits"),
                             (DeprecationWarning, ""), (FutureWarning, ""),
                             (PendingDeprecationWarning, "")):
        warnings.filterwarnings("ignore", category=category, module=module)
    for message in ("The given NumPy array is not writable", "Attempting to set identical",
                    "constrained_layout not applied", "Tight layout not applied"):
        warnings.filterwarnings("ignore", message=message)
    try:
        from sklearn.exceptions import ConvergenceWarning

        warnings.filterwarnings("ignore", category=ConvergenceWarning)
    except ImportError:
        pass
    try:
        from numba.core.errors import NumbaPerformanceWarning

        warnings.filterwarnings("ignore", category=NumbaPerformanceWarning)
    except ImportError:
        pass


def parse_args(description: str, argv=None, *, extra=None) -> argparse.Namespace:
    """Parse the common demo command line (``--out``, ``--quick``, ``--seed``, ``--device``,
    ``--no-progress``); ``extra(parser)`` adds a demo's own options."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: figures/)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bars (tqdm, on stderr) during the trainings")
    if extra is not None:
        extra(p)
    return p.parse_args(argv)


def versions() -> dict:
    """Versions of python and of the libraries a figure depends on."""
    out = {"python": platform.python_version()}
    for mod in ("otgan", "numpy", "scipy", "torch", "matplotlib", "ot", "shapely", "PIL",
                "sklearn"):
        try:
            m = __import__(mod)
            out[mod] = str(getattr(m, "__version__", "unknown"))
        except Exception:  # noqa: BLE001 - a missing optional library is reported as such
            out[mod] = None
    return out


def jsonable(obj):
    """Convert numpy / torch scalars and arrays (recursively) into JSON types."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "detach"):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if np.isfinite(v) else str(v)
    if isinstance(obj, pathlib.Path):
        return str(obj)
    return obj


@dataclass
class Demo:
    """One demo run: its name, parsed arguments, files written, and the sidecar's content.

    Use as ``demo = Demo("fig03_parallel_lines", args)``, then ``demo.save(fig, "name")``,
    ``demo.gif(frames, "name")``, ``demo.numbers[...] = ...`` and finally ``demo.finish(...)``.
    ``announce=False`` skips the start line (a runner such as ``python -m demos`` prints its
    own). ``demo.verbose`` (``--no-progress`` turns it off; always off with ``--quick``) is what
    a demo passes as ``progress=`` to its trainings: a tqdm bar on stderr.
    """

    name: str
    args: argparse.Namespace
    announce: bool = True
    params: dict = field(default_factory=dict)
    numbers: dict = field(default_factory=dict)
    files: list = field(default_factory=list)
    captions: dict = field(default_factory=dict)
    t0: float = field(default_factory=time.perf_counter)

    def __post_init__(self):
        quiet_warnings()
        if self.announce:
            mode = " --quick" if self.args.quick else ""
            print(f"{self.name}{mode}: {_about(self.name, self.args.quick)}", flush=True)
        self.out = pathlib.Path(self.args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.quick = bool(self.args.quick)
        self.seed = int(self.args.seed)
        self.device = str(self.args.device)
        self.verbose = bool(getattr(self.args, "progress", True)) and not self.quick
        # The demos' networks are tiny: one intra-op thread is as fast, and far more robust on a
        # busy 2-core machine than two threads spinning against each other. Restored by finish().
        self._threads = None
        if "torch" in sys.modules:
            import torch

            self._threads = torch.get_num_threads()
            torch.set_num_threads(1)

    def path(self, stem: str, ext: str) -> pathlib.Path:
        return self.out / f"{self.name}_{stem}.{ext}" if stem else self.out / f"{self.name}.{ext}"

    def stage(self, message: str) -> None:
        """Print a progress line ``  [name   12.3 s] message`` (flushed at once)."""
        dt = time.perf_counter() - self.t0
        print(f"  [{self.name} {dt:6.1f} s] {message}", flush=True)

    def save(self, fig, stem: str = "", *, dpi: int = DPI, caption: str | None = None
             ) -> pathlib.Path:
        """Save ``fig`` as ``<out>/<name>_<stem>.png`` and close it; ``caption`` is recorded
        in the sidecar (the docs gallery shows it under the picture)."""
        p = self.path(stem, "png")
        fig.savefig(p, dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        self.files.append(p.name)
        if caption:
            self.captions[p.name] = caption
        return p

    def gif(self, frames, stem: str, *, duration_ms: int = 500, caption: str | None = None
            ) -> pathlib.Path:
        """Save PIL frames / figures as ``<out>/<name>_<stem>.gif`` (Pillow)."""
        from otgan import plot

        p = self.path(stem, "gif")
        images = [plot.figure_to_image(f, dpi=DPI) if hasattr(f, "savefig") else f
                  for f in frames]
        plot.save_gif(images, p, duration_ms=duration_ms)
        for f in frames:
            if hasattr(f, "savefig"):
                plt.close(f)
        self.files.append(p.name)
        if caption:
            self.captions[p.name] = caption
        return p

    def finish(self) -> dict:
        """Write ``<out>/<name>.json`` and return its content."""
        wall = time.perf_counter() - self.t0
        side = {
            "demo": self.name,
            "command": f"python -m demos.{self.name}"
            + (" --quick" if self.quick else "")
            + f" --seed {self.seed} --out {self.args.out}",
            "quick": self.quick,
            "seed": self.seed,
            "device": self.device,
            "params": jsonable(self.params),
            "numbers": jsonable(self.numbers),
            "files": list(self.files),
            "captions": dict(self.captions),
            "versions": versions(),
            "wall_time_s": round(wall, 3),
        }
        p = self.path("", "json")
        p.write_text(json.dumps(side, indent=2, sort_keys=False))
        if self._threads is not None:
            import torch

            torch.set_num_threads(self._threads)
        return side


def subplots(nrows=1, ncols=1, *, size=4.0, **kwargs):
    """``plt.subplots`` with square panels of ``size`` inches."""
    kwargs.setdefault("figsize", (size * ncols, size * nrows))
    kwargs.setdefault("constrained_layout", True)
    return plt.subplots(nrows, ncols, **kwargs)


def unit_square(ax, *, title: str | None = None, y_down: bool = False):
    """Limit ``ax`` to [0, 1]^2, equal aspect, no ticks clutter."""
    ax.set_xlim(0, 1)
    ax.set_ylim((1, 0) if y_down else (0, 1))
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def train_critic(data, fake, method, *, steps, batch, width, rng, clip=0.01, lam=10.0,
                 device="cpu", progress=False):
    """Train a WGAN critic against the fixed generator ``fake`` with the library's
    :class:`otgan.gan.Trainer` (``step="discriminator"``): weight clipping (``method="clip"``,
    ``loss="wgan"``, RMSprop 5e-4) or the gradient penalty (``"gp"``, ``loss="wgan-gp"``,
    Adam 1e-3, betas (0.5, 0.9)), one critic step per iteration, ``steps`` iterations.

    ``fake`` is a parameter-free ``nn.Module`` with a ``latent_dim`` (e.g.
    :class:`otgan.gan.NoisyDataGenerator`). The critic is an MLP ``2-width-width-width-1``
    initialised from ``rng`` (an int seed), which also seeds every stream of the Trainer.
    Returns the critic in eval mode.
    """
    import torch

    from otgan.gan import MLPDiscriminator, Trainer

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(np.random.default_rng(rng).integers(0, 2**62)))
        critic = MLPDiscriminator(2, hidden=(width, width, width))
    opts = ({"loss": "wgan", "optimizer": "rmsprop", "lr_d": 5e-4, "clip": clip}
            if method == "clip" else
            {"loss": "wgan-gp", "optimizer": "adam", "lr_d": 1e-3, "betas": (0.5, 0.9),
             "gp_weight": lam})
    tr = Trainer(data, generator=fake, discriminator=critic, step="discriminator", n_critic=1,
                 batch_size=batch, rng=rng, device=device, progress=progress, **opts)
    tr.run(steps)
    return tr.discriminator.eval()
