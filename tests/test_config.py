"""The training config: one validation with messages that say what to change, recipes per kind and device,
the device and the precision chosen for the user."""
import subprocess
import sys

import pytest
import torch

from conftest import REPO
from vae_lab import config as config_module
from vae_lab import kinds
from vae_lab.config import TrainConfig, native_bf16, pick_device, recipe, resolve_precision


def test_config_rejects_unknown_keys_and_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown training config key\(s\) \['learning_rate'\].*'lr'"):
        TrainConfig.from_dict({"kind": "plain", "learning_rate": 0.1})


@pytest.mark.parametrize("bad, message", [
    ({"kind": "gan"}, "unknown kind 'gan': choose one of classifier, plain, dfc"),
    ({"dataset": "cifar"}, "unknown dataset 'cifar': choose one of mnist, fashion-mnist"),
    ({"name": "a b"}, "may use only letters, digits"),
    ({"epochs": 0}, "epochs must be at least 1, got 0"),
    ({"batch_size": -3}, "batch_size must be at least 1"),
    ({"lr": 0.0}, "lr must be positive"),
    ({"lr_schedule": "step"}, "lr_schedule must be one of cosine, constant"),
    ({"train_limit": -1}, "train_limit must be 0 or more"),
    ({"precision": "fp16"}, "precision must be one of auto, fp32, bf16"),
    ({"device": "tpu"}, "device must be one of auto, cuda, mps, cpu"),
    ({"perceptual_layers": {"conv9": 1.0}}, r"unknown perceptual layer\(s\) \['conv9'\]: choose from \['conv1'"),
    ({"perceptual_layers": {}}, "choose at least one perceptual layer"),
    ({"perceptual_layers": ["conv1"]}, "as a mapping layer -> weight"),
    ({"perceptual_layers": {"conv1": -1.0}}, "weights must be 0 or more"),
    ({"kind": "vaegan-hinge", "critic_layers": {"conv4": 1.0}}, r"unknown critic layer\(s\) \['conv4'\]"),
    ({"kind": "vaegan-hinge", "critic_depth": 6}, "critic_depth must be 3, 4 or 5"),
])
def test_config_refuses_bad_values_with_a_reason(bad, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**bad)


def test_a_fourth_critic_layer_is_valid_for_a_deeper_critic():
    config = TrainConfig(kind="vaegan-hinge", critic_depth=4, critic_layers={"conv4": 1.0})
    assert config.critic_layers == {"conv4": 1.0}


def test_validation_survives_python_dash_O():
    """Checks are exceptions, not asserts, so `python -O` keeps them."""
    code = "from vae_lab.config import TrainConfig\ntry:\n TrainConfig(epochs=0)\nexcept ValueError: print('refused')"
    result = subprocess.run([sys.executable, "-O", "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "refused", result.stderr


def test_config_defaults_depend_on_kind_and_dataset():
    assert TrainConfig(kind="vaegan-wgan").resolved().critic_steps == 2
    assert TrainConfig(kind="vaegan-hinge").resolved().critic_steps == 1
    assert TrainConfig(kind="plain").resolved().kl_warmup_steps == 2000
    assert TrainConfig(kind="classifier").resolved().kl_warmup_steps == 0
    assert TrainConfig(kind="vaegan-hinge", critic_steps=3).resolved().critic_steps == 3  # what you set wins
    assert TrainConfig(kind="plain", dataset="fashion-mnist").resolved().name == "fashion-mnist-plain"
    assert TrainConfig(kind="dfc", dataset="fashion-mnist").resolved().perceptual_model == "fashion-mnist-classifier"
    assert TrainConfig(kind="dfc").resolved().perceptual_model == "classifier"
    assert TrainConfig(kind="dfc").resolved().beta == 8.0 and TrainConfig(kind="plain").resolved().beta == 1.0
    assert TrainConfig(kind="dfc", beta=2.0).resolved().beta == 2.0


def test_quick_recipes_apply_on_a_cpu_only():
    quick = TrainConfig(kind="dfc", device="cpu", quick=True).resolved()
    assert quick.epochs == recipe("dfc", quick=True)["epochs"] < 12
    assert (quick.test_limit, quick.posterior_codes) == (2000, 5000), \
        "a quick job validates on a fixed subset and fits its posterior to fewer codes; its analysis uses them all"
    assert TrainConfig(kind="dfc", device="cpu").resolved().test_limit == 0
    assert TrainConfig(kind="dfc", device="cpu").resolved().epochs == 12
    assert recipe("dfc", device="cuda", quick=True)["epochs"] == 12, "a GPU form never gets the CPU's short recipe"


@pytest.mark.parametrize("kind", kinds.names())
@pytest.mark.parametrize("quick", [False, True])
def test_every_value_of_a_recipe_reaches_the_config(kind, quick):
    """A field with a non-None default would silently ignore its recipe (the quick hinge VAE-GAN's pixel term did)."""
    config = TrainConfig(kind=kind, device="cpu", quick=quick).resolved()
    assert {key: getattr(config, key) for key in recipe(kind, quick=quick)} == recipe(kind, quick=quick)


def test_the_gpu_recipe_is_chosen_when_cuda_is_present(monkeypatch):
    """No GPU here: fake the device query and check what a GPU run would be given."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto").type == "cuda"
    gpu = TrainConfig(kind="dfc", quick=True).resolved()
    cpu = TrainConfig(kind="dfc", device="cpu").resolved()
    assert gpu.batch_size == cpu.batch_size * config_module.GPU_BATCH_FACTOR
    assert gpu.lr == pytest.approx(cpu.lr * config_module.GPU_BATCH_FACTOR ** 0.5)
    assert gpu.epochs == cpu.epochs == 12


def test_device_auto_falls_back_to_cpu_here():
    assert pick_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert pick_device("auto").type in ("cpu", "mps")
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            pick_device("cuda")
        with pytest.raises(ValueError, match="no CUDA GPU"):
            TrainConfig(device="cuda").resolved()


def test_auto_precision_is_bf16_exactly_where_the_cpu_computes_it_natively(monkeypatch):
    cpu = torch.device("cpu")
    for flags, expected in [({"avx512f", "avx512_bf16"}, "bf16"), ({"amx_bf16", "amx_tile"}, "bf16"),
                            ({"avx2", "fma"}, "fp32"), (set(), "fp32")]:
        monkeypatch.setattr(config_module, "_cpu_flags", lambda flags=flags: frozenset(flags))
        assert resolve_precision("auto", cpu) == expected, flags
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    assert not native_bf16(torch.device("meta"))


def test_recipes_written_before_layer_mappings_still_load():
    old = {"kind": "dfc", "perceptual_layers": ["conv1", "conv3"], "perceptual_weights": [1.0, 0.5],
           "critic_layers": ["conv1"], "critic_weights": [30.0], "bf16": True}
    config = TrainConfig.from_dict(old)
    assert config.perceptual_layers == {"conv1": 1.0, "conv3": 0.5} and config.critic_layers == {"conv1": 30.0}
    assert config.precision == "bf16"


def test_the_measured_figures_the_panel_states_are_of_the_quick_recipe_it_runs_from_the_shipped_start():
    # A quick recipe changed, or a shipped model it starts from retrained, without its runs measured again would
    # have the panel state another run's figures (benchmarks/time_to_quality.py --quick --record measures them)
    from vae_lab import checkpoints, quick_record
    from vae_lab.datasets import MNIST
    runs = quick_record.load()
    assert set(runs) == {"plain", "dfc", "vaegan-hinge", "vaegan-wgan"}
    for kind, kept in runs.items():
        values = recipe(kind, device="cpu", quick=True)
        images = values["epochs"] * (values["train_limit"] or MNIST.train_size)
        for run in kept:
            assert run["images"] == images, (kind, run["images"], images)
            # what the job validates on and fits its posterior to changes no weight, nor a figure the panel states
            # (the benchmark judges every run on the whole test set)
            ignored = ("init_from", "test_limit", "posterior_codes")
            changed = {k: (v, run["recipe"].get(k)) for k, v in values.items() if k not in ignored
                       and run["recipe"].get(k) != v}
            assert not changed, (kind, changed)
            if values["init_from"]:
                start = checkpoints.shipped(run["init_from"]["name"])
                assert run["init_from"]["sha256"] == start.sha256, f"{kind}: {start.name} was retrained since"



def test_a_config_is_a_plain_value_until_it_is_resolved(monkeypatch):
    """`TrainConfig(kind="dfc")` means the same on a laptop and on a GPU box; `resolved()` is the one step that
    takes the recipe of the device a run goes on, and it changes nothing the second time."""
    config = TrainConfig(kind="dfc")
    assert config.epochs is None and config.batch_size is None and config.name == ""
    cpu = config.resolved(torch.device("cpu"))
    assert cpu.resolved(torch.device("cpu")) == cpu and cpu.name == "dfc" and cpu.batch_size is not None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert TrainConfig(kind="dfc") == config
    assert config.resolved().batch_size == cpu.batch_size * config_module.GPU_BATCH_FACTOR
