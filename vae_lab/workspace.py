"""Where the lab reads and writes: the data root, your checkpoints, the training jobs and the analysis cache.

A `Workspace` is built once, where a program starts: by the CLI and a job process (`Workspace.from_env()`, the one
place that reads the folder variables below) or by the app's server, which gives each public-mode visitor their own
(`for_visitor`). It is then passed down. A core function called without one (from a notebook or a test) takes the
environment's.

    VAE_LAB_DATA         data sets in torchvision's layout (default ./data)
    VAE_LAB_CHECKPOINTS  your checkpoints (default ~/.vae_lab/checkpoints)
    VAE_LAB_JOBS         training jobs (default ~/.vae_lab/jobs)
    VAE_LAB_CACHE        analyses (default ~/.cache/vae_lab)
    VAE_LAB_STATE        in public mode, a volume that outlives the container (else a writable /data, a Space's
                         persistent storage): the checkpoints, jobs and cache are kept inside it
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# The shipped checkpoints: inside the package when installed with pip, else the repository's checkpoints/.
SHIPPED_DIR = _PACKAGE / "shipped" if (_PACKAGE / "shipped").is_dir() else _PACKAGE.parent / "checkpoints"
STATE_MOUNT = Path("/data")  # where a Hugging Face Space's persistent storage appears


def public_mode(env: Mapping[str, str] = os.environ) -> bool:
    """VAE_LAB_PUBLIC=1: the hosted demo (see public.py)."""
    return env.get("VAE_LAB_PUBLIC", "") not in ("", "0", "false", "no")


def state_root(env: Mapping[str, str] = os.environ) -> Path | None:
    """Where visitors' models, jobs and the analysis cache outlive the container: $VAE_LAB_STATE, else, in public
    mode, a writable /data; None where nothing is kept across a restart."""
    if env.get("VAE_LAB_STATE"):
        return Path(env["VAE_LAB_STATE"]).expanduser()
    if public_mode(env) and STATE_MOUNT.is_dir() and os.access(STATE_MOUNT, os.W_OK):
        return STATE_MOUNT / "vae_lab"
    return None


@dataclass(frozen=True)
class Workspace:
    data: Path
    checkpoints: Path  # your own checkpoints; in public mode the root of every visitor's folder
    jobs: Path
    cache: Path
    visitor: str = ""  # public mode: this visitor's models are theirs alone
    kept: bool = True  # whether the folders outlive the server (False: a public demo without a volume)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Workspace:
        """The folders the environment names (see the module's docstring)."""
        folder = lambda name, default: Path(env.get(name) or default).expanduser()  # noqa: E731
        found = cls(data=folder("VAE_LAB_DATA", "data"),
                    checkpoints=folder("VAE_LAB_CHECKPOINTS", "~/.vae_lab/checkpoints"),
                    jobs=folder("VAE_LAB_JOBS", "~/.vae_lab/jobs"),
                    cache=folder("VAE_LAB_CACHE", Path.home() / ".cache" / "vae_lab"))
        state = state_root(env)
        if state is not None:
            return replace(found, checkpoints=state / "checkpoints", jobs=state / "jobs", cache=state / "cache")
        return replace(found, kept=not public_mode(env))

    def for_visitor(self, visitor: str) -> Workspace:
        """This workspace as one public-mode visitor sees it: their own model folder, and no other's."""
        if not re.fullmatch(r"[a-f0-9]{8,64}", visitor):
            raise ValueError(f"a visitor id is hexadecimal, got {visitor!r}")
        return replace(self, visitor=visitor)

    @property
    def own_models(self) -> Path:
        """Where training and uploads write: the visitor's folder in public mode, else your checkpoints."""
        return self.checkpoints / "visitors" / self.visitor if self.visitor else self.checkpoints

    @property
    def own_data(self) -> Path:
        """Where the data sets made from your images are kept: in public mode the visitor's folder (theirs alone,
        kept and removed with their models), else the data root."""
        return self.own_models / "data" if self.visitor else self.data

    @property
    def checkpoint_dirs(self) -> list[Path]:
        """Where checkpoints are looked for: your own first (a name there shadows a shipped one), then shipped.
        A visitor's come after the shipped ones: their model never stands in for a shipped name (the judge
        `classifier` above all, whose readings every visitor's numbers depend on)."""
        return [SHIPPED_DIR, self.own_models] if self.visitor else [self.checkpoints, SHIPPED_DIR]

    def to_json(self) -> str:
        """What a job process is told of the workspace it runs in (its folder's workspace.json)."""
        return json.dumps({key: str(value) if isinstance(value, Path) else value
                           for key, value in asdict(self).items()}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Workspace:
        values = json.loads(text)
        return cls(**{key: value if key in ("visitor", "kept") else Path(value) for key, value in values.items()})

    def folders(self) -> tuple[Path, Path, Path]:
        """What the lab writes to: the checkpoints, the jobs and the cache."""
        return self.checkpoints, self.jobs, self.cache


def current(workspace: Workspace | None) -> Workspace:
    """`workspace`, or the environment's where a caller passes none."""
    return workspace if workspace is not None else Workspace.from_env()
