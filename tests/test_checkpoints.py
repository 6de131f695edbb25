import json

import pytest
import torch

from vae_lab import checkpoints, optimizer_state
from vae_lab.checkpoints import CheckpointError
from vae_lab.models import VAE


@pytest.fixture
def saved(tmp_path):
    vae = VAE(latent_dim=3)
    meta = {"kind": "plain", "dataset": "mnist", "architecture": vae.architecture}
    return vae, checkpoints.save(tmp_path, "toy", meta=meta, modules={"model": vae})


def test_round_trip_gives_identical_outputs(saved):
    vae, ckpt = saved
    loaded = checkpoints.load(ckpt.json_path)
    assert not loaded.training
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(loaded.reconstruct(x), vae.eval().reconstruct(x))
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(loaded.sample(3, generator=g()), vae.sample(3, generator=g()))


def test_files_are_written_atomically_and_described_by_the_json(saved):
    _, ckpt = saved
    assert sorted(p.name for p in ckpt.json_path.parent.iterdir()) == ["toy.json", "toy.safetensors"]
    meta = json.loads(ckpt.json_path.read_text())
    assert meta["format"] == checkpoints.FORMAT
    assert meta["files"]["model"]["sha256"] == checkpoints.sha256_file(ckpt.file("model"))


def test_find_by_name_path_or_weights_path(saved, monkeypatch):
    _, ckpt = saved
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(ckpt.json_path.parent))
    for ref in ["toy", ckpt.json_path, ckpt.file("model"), str(ckpt.json_path.parent / "toy")]:
        assert checkpoints.find(ref).name == "toy"
    assert "toy" in [c.name for c in checkpoints.available()]


def test_unknown_name_says_what_exists_and_how_to_train(saved, monkeypatch):
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(saved[1].json_path.parent))
    with pytest.raises(CheckpointError, match=r"no checkpoint named 'nope'.*toy.*vae_lab train"):
        checkpoints.find("nope")


def test_truncated_weights_give_a_clear_error(saved):
    _, ckpt = saved
    data = ckpt.file("model").read_bytes()
    ckpt.file("model").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        checkpoints.load(ckpt.json_path)


def test_truncated_json_gives_a_clear_error(saved):
    _, ckpt = saved
    ckpt.json_path.write_text(ckpt.json_path.read_text()[:40])
    with pytest.raises(CheckpointError, match="not valid JSON"):
        checkpoints.load(ckpt.json_path)


def test_missing_weights_file_gives_a_clear_error(saved):
    _, ckpt = saved
    ckpt.file("model").unlink()
    with pytest.raises(CheckpointError, match="is missing"):
        checkpoints.load(ckpt.json_path)


def test_architecture_mismatch_names_the_tensors(saved):
    _, ckpt = saved
    meta = json.loads(ckpt.json_path.read_text())
    meta["architecture"]["latent_dim"] = 4
    ckpt.json_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"does not match its architecture.*encoder\.mu\.weight"):
        checkpoints.load(ckpt.json_path)


def test_json_without_required_keys_is_refused(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"kind": "plain"}))
    with pytest.raises(CheckpointError, match="not a vae_lab checkpoint"):
        checkpoints.read(tmp_path / "bad.json")


def test_available_skips_broken_checkpoints_with_a_warning(saved, monkeypatch):
    folder = saved[1].json_path.parent
    (folder / "broken.json").write_text("{")
    monkeypatch.setenv("VAE_LAB_CHECKPOINTS", str(folder))
    with pytest.warns(UserWarning, match="broken.json"):
        names = [c.name for c in checkpoints.available()]
    assert "toy" in names and "broken" not in names


def test_optimizer_state_round_trip():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1, betas=(0.5, 0.9))
    model(torch.rand(4, 3)).sum().backward()
    opt.step()
    tensors, groups = optimizer_state.optimizer_tensors({"model": opt})
    fresh = torch.optim.Adam(model.parameters(), lr=1.0)
    optimizer_state.restore_optimizers({"model": fresh}, tensors, json.loads(json.dumps(groups)))
    assert fresh.param_groups[0]["lr"] == 0.1 and list(fresh.param_groups[0]["betas"]) == [0.5, 0.9]
    for a, b in zip(opt.state.values(), fresh.state.values()):
        assert all(torch.equal(torch.as_tensor(a[k]), torch.as_tensor(b[k])) for k in a)
