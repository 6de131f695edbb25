"""A model kept as a zip and brought back (model_files.py), and the folders that outlive a restart (workspace.py)."""
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
import torch

from vae_lab import checkpoints, model_files, workspace
from vae_lab.workspace import Workspace


@pytest.fixture
def kept(tmp_path):
    """A visitor's plain VAE: the shipped one's weights under another name."""
    shipped = checkpoints.shipped("plain")
    meta = {k: v for k, v in shipped.meta.items() if k not in ("files", "format", "aggregate_posterior")}
    return checkpoints.save(tmp_path / "own", "my-plain", meta=meta, modules={"model": checkpoints.load(shipped)})


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_downloaded_model_comes_back_whole(kept, tmp_path):
    back = model_files.from_zip(model_files.to_zip(kept), tmp_path / "elsewhere")
    assert (back.name, back.kind, back.dataset) == ("my-plain", "plain", "mnist")
    a, b = checkpoints.load(kept).state_dict(), checkpoints.load(back).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not list((tmp_path / "elsewhere").glob(".*"))  # no temporary left


def test_every_bad_zip_is_refused_with_what_to_do_and_nothing_is_added(kept, tmp_path):
    files = {path.name: path.read_bytes() for path in kept.json_path.parent.iterdir()}
    meta = json.loads(files["my-plain.json"])
    weights = next(name for name in files if name.endswith(".safetensors"))
    cases = {
        b"PK not really": "not a zip file",
        b"x" * (model_files.MAX_ZIP_BYTES + 1): "at most 20 MB",
        zipped({"bomb.json": b"{}", "bomb.safetensors": bytes(model_files.MAX_UNPACKED_BYTES)}): "MB unpacked",
        zipped({"../my-plain.json": files["my-plain.json"], weights: files[weights]}): "plain file names",
        zipped({weights: files[weights]}): "one checkpoint JSON, this one 0",
        zipped(files | {"other.json": files["my-plain.json"]}): "one checkpoint JSON, this one 2",
        zipped({"classifier.json": files["my-plain.json"], weights: files[weights]}): "shipped model's",
        zipped(files | {weights: files[weights][:-8] + bytes(8)}): "does not match its JSON",
        zipped(files | {"my-plain.json": json.dumps(meta | {"kind": "beta-vae"}).encode()}): "unknown kind",
        zipped({"my-plain.json": files["my-plain.json"]}): "is missing",
        zipped(files | {"my-plain.json": b"{"}): "not valid JSON",
    }
    for data, said in cases.items():
        with pytest.raises(model_files.ModelFileError, match=said):
            model_files.from_zip(data, tmp_path / "target", refused_names={"classifier"})
    assert not (tmp_path / "target").exists()


def test_a_volume_keeps_the_models_jobs_and_cache_and_nothing_else_claims_to(monkeypatch, tmp_path):
    """VAE_LAB_STATE, or in public mode a writable /data (a Space's persistent storage), holds the folders that
    must outlive a restart; without either, nothing is said to be kept."""
    for variable in ("VAE_LAB_STATE", "VAE_LAB_PUBLIC"):
        monkeypatch.delenv(variable, raising=False)
    for variable in ("VAE_LAB_CHECKPOINTS", "VAE_LAB_JOBS", "VAE_LAB_CACHE"):
        monkeypatch.setenv(variable, os.environ[variable])  # restored after the test
    volume = tmp_path / "data"
    volume.mkdir()
    monkeypatch.setattr(workspace, "STATE_MOUNT", volume)
    private = Workspace.from_env()
    assert private.checkpoints == Path(os.environ["VAE_LAB_CHECKPOINTS"]) and private.kept, \
        "a private lab's folders are the user's own, kept anyway"
    monkeypatch.setenv("VAE_LAB_PUBLIC", "1")
    kept = Workspace.from_env()
    assert kept.folders() == (volume / "vae_lab" / "checkpoints", volume / "vae_lab" / "jobs",
                              volume / "vae_lab" / "cache") and kept.kept
    assert kept.for_visitor("a" * 16).own_models == volume / "vae_lab" / "checkpoints" / "visitors" / ("a" * 16)
    volume.chmod(0o500)
    try:
        if not os.access(volume, os.W_OK):  # root may write anyway
            lost = Workspace.from_env()
            assert lost.checkpoints == private.checkpoints and not lost.kept, "a read-only /data keeps nothing"
    finally:
        volume.chmod(0o700)
    monkeypatch.setenv("VAE_LAB_STATE", str(tmp_path / "chosen"))
    assert Workspace.from_env().jobs == tmp_path / "chosen" / "jobs"
