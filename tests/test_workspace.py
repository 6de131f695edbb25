"""One home for where the lab reads and writes: workspace.py alone reads the folder variables, and what a workspace
names is what the core uses, a visitor's own models included."""
from __future__ import annotations

import re
from pathlib import Path

import torch

from vae_lab import checkpoints, scorecard
from vae_lab.models import VAE
from vae_lab.workspace import SHIPPED_DIR, Workspace

from conftest import workspace_at

PACKAGE = Path(__file__).resolve().parent.parent / "vae_lab"
FOLDER_VARIABLES = re.compile(r"VAE_LAB_(DATA|CHECKPOINTS|JOBS|CACHE|STATE)\b")


def test_only_the_workspace_reads_the_folder_variables():
    found = [f"{path.relative_to(PACKAGE.parent)}:{number}" for path in sorted(PACKAGE.rglob("*.py"))
             if path.name != "workspace.py"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if FOLDER_VARIABLES.search(line) and ("environ" in line or "getenv" in line)]
    assert not found, "read the folders from a Workspace instead:\n" + "\n".join(found)
    assert FOLDER_VARIABLES.search('os.environ.get("VAE_LAB_DATA")'), "the pattern finds what it looks for"


def test_a_visitor_finds_their_own_models_and_no_one_elses_and_the_shipped_names_win(tmp_path):
    alice, bob = workspace_at(tmp_path, visitor="a" * 16), workspace_at(tmp_path, visitor="b" * 16)
    meta = {k: v for k, v in checkpoints.shipped("plain").meta.items() if k not in ("files", "format")}
    for name in ("alices", "plain"):  # "plain": a visitor's model under a shipped model's name
        checkpoints.save(alice.own_models, name, meta=meta, modules={"model": VAE()})
    assert checkpoints.find("alices", workspace=alice).json_path.parent == alice.own_models
    assert checkpoints.find("plain", workspace=alice).json_path.parent == SHIPPED_DIR
    assert "alices" not in {c.name for c in checkpoints.available(workspace=bob)}
    private = workspace_at(tmp_path)
    checkpoints.save(private.own_models, "plain", meta=meta, modules={"model": VAE()})
    assert checkpoints.find("plain", workspace=private).json_path.parent == private.checkpoints, \
        "on your own lab, your model of a shipped name shadows it"


def test_an_analysis_is_kept_in_the_workspaces_cache(tmp_path, monkeypatch):
    here = workspace_at(tmp_path)
    torch.manual_seed(0)
    meta = {k: v for k, v in checkpoints.shipped("plain").meta.items() if k not in ("files", "format")}
    ckpt = checkpoints.save(here.own_models, "mine", meta=meta, modules={"model": VAE()})
    scorecard.analyse("mine", limit=32, workspace=here)
    assert scorecard.is_cached(ckpt, limit=32, workspace=here)
    assert list(here.cache.glob("mine-*.json")) and not scorecard.is_cached(ckpt, limit=32,
                                                                            workspace=workspace_at(tmp_path / "other"))


def test_a_workspace_travels_to_a_job_process_whole(tmp_path):
    visitor = workspace_at(tmp_path, visitor="c" * 16)
    assert Workspace.from_json(visitor.to_json()) == visitor
