"""torchrun: two CPU processes (gloo) train what one process trains on the same global batch and seed."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vae_lab import checkpoints
from vae_lab.config import TrainConfig
from vae_lab.data import load_split
from vae_lab.distributed import World
from conftest import workspace_at
from vae_lab.jobs import JobManager, device_choices, launch_command
from vae_lab.train import make_objective, train

REPO = Path(__file__).resolve().parent.parent
# float32 throughout. Two processes sum each gradient in another order than one (half the batch each, then the
# average), so the weights agree to rounding, not bit for bit; and Adam divides by the gradient's size, so
# where a gradient is nearly 0 a rounding can move one weight by up to a learning rate. Hence the measure:
# how far apart the two runs' modules end, as a share of how far training moved them from their initial
# weights. Measured after 8 steps: DFC 0.014%, hinge VAE-GAN 0.38% (one process on 1 thread and on 2 ends as
# far apart: its game amplifies rounding), Wasserstein critic 0.16%; the DFC with DDP left out, 60%.
TOLERANCE = 0.02
RECIPES = {  # 256 training images, a global batch of 32: 8 steps
    "plain": dict(kind="plain", lr_schedule="constant"),  # constant: resumed with more epochs, it continues alike
    "dfc": dict(kind="dfc"),
    "vaegan-hinge": dict(kind="vaegan-hinge", warmup_steps=3, critic_steps=2, pixel_weight=1.0,
                         pixel_anneal_steps=6),  # the generator loss on from step 3, extra critic batches
    "vaegan-wgan": dict(kind="vaegan-wgan", warmup_steps=3),  # and the gradient penalty's double backward
}
BASE = dict(epochs=1, batch_size=32, train_limit=256, test_limit=64, device="cpu", precision="fp32", log_every=2,
            init_from="")  # from scratch: `initial_weights` is where training moved them from
# Runs each given `vae_lab train` command line in turn, in the processes torchrun starts.
RUNNER = "import json, sys\nfrom vae_lab.cli import main\nsys.exit(max(main(a) for a in json.loads(sys.argv[1])))\n"


def torchrun(tmp_path, commands: list[list[str]], *, timeout: float = 240, prelude: str = ""
             ) -> subprocess.CompletedProcess:
    script = tmp_path / "runner.py"
    script.write_text(prelude + RUNNER)
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           str(script), json.dumps(commands)], capture_output=True, text=True, timeout=timeout,
                          env=os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)})


def train_command(values: dict, folder) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(values))
    return ["train", "--config", str(folder / "config.json"), "--out-dir", str(folder / "out"),
            "--events", str(folder / "events.jsonl"), "--quiet"]


@pytest.fixture(scope="module")
def two_processes(tiny_checkpoints, tmp_path_factory):
    """Each recipe trained once by `torchrun --nproc-per-node 2 ... vae_lab train`, in one launch."""
    root = tmp_path_factory.mktemp("torchrun")
    commands = [train_command(BASE | values, root / kind) for kind, values in RECIPES.items()]
    start = time.perf_counter()
    done = torchrun(root, commands)
    assert done.returncode == 0, done.stdout + done.stderr
    return root, time.perf_counter() - start


def initial_weights(config: TrainConfig, role: str) -> dict[str, torch.Tensor]:
    torch.manual_seed(config.seed)  # as train() seeds before it builds the modules
    objective = make_objective(config, torch.device("cpu"), load_split(config.dataset, train=True).subset(256))
    return objective.modules[role].state_dict()


def assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], initial: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys() == initial.keys()
    apart = sum((a[k] - b[k]).square().sum() for k in a).sqrt().item()
    moved = sum((b[k] - initial[k]).square().sum() for k in b).sqrt().item()
    assert moved > 0, "training must have moved the weights"
    assert apart <= TOLERANCE * moved, f"the runs end {apart / moved:.2%} of training's move apart"


@pytest.mark.parametrize("kind", list(RECIPES))
def test_two_processes_train_the_weights_one_process_trains(kind, two_processes, tiny_checkpoints, tmp_path):
    root, _ = two_processes
    config = TrainConfig(**BASE | RECIPES[kind]).resolved()
    single = train(config, out_dir=tmp_path).checkpoint
    out = root / kind / "out"
    assert sorted(p.name for p in out.glob("*.json")) == [f"{config.name}.json"], "rank 0 alone writes"
    distributed = checkpoints.read(out / f"{config.name}.json")
    assert distributed.meta["training"]["processes"] == 2 and distributed.meta["training"]["step"] == 8
    for role in ("model", "critic") if kind.startswith("vaegan") else ("model",):
        assert_close(distributed.tensors(role), single.tensors(role), initial_weights(config, role))
    model = checkpoints.load(distributed.json_path)
    assert model.reconstruct(torch.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    events = [json.loads(line) for line in (root / kind / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events].count("done") == 1, "one rank reports"
    assert events[-1]["images_per_s"] > 0


def test_a_run_on_two_processes_resumes_on_one(two_processes, tiny_checkpoints, tmp_path):
    """Everything a checkpoint keeps is the global run's (steps, batch, weights, optimiser state)."""
    root, _ = two_processes
    config = TrainConfig(**BASE | RECIPES["plain"] | {"epochs": 2}).resolved()
    written_by_two = checkpoints.read(root / "plain" / "out" / "plain.json")
    resumed = train(config, out_dir=tmp_path / "resumed", resume=written_by_two)
    straight = train(config, out_dir=tmp_path / "straight")
    assert resumed.checkpoint.meta["training"]["step"] == 16
    assert_close(resumed.checkpoint.tensors(), straight.checkpoint.tensors(), initial_weights(config, "model"))


# Rank 1 alone goes wrong at its fourth step: in the run named "diverging" its loss turns NaN, in the run
# named "failing" it raises.
FAULTY = """import os
from vae_lab.objectives import VAEObjective
original = VAEObjective.train_step
def faulty(self, x, y, step):
    losses = original(self, x, y, step)
    if step == 3 and os.environ["RANK"] == "1":
        if self.config.name == "failing":
            raise RuntimeError("rank 1 failed (simulated)")
        losses["loss"] = losses["loss"] * float("nan")
    return losses
VAEObjective.train_step = faulty
"""


def test_a_rank_that_diverges_or_fails_stops_both_with_its_reason(tiny_checkpoints, tmp_path):
    values = BASE | RECIPES["plain"] | {"epochs": 50, "log_every": 1}  # 400 steps each: a hang would show
    # a rank left waiting for a failed one would hang until torchrun's timeout, which fails the test
    done = torchrun(tmp_path, [train_command(values | {"name": name}, tmp_path / name)
                               for name in ("diverging", "failing")], timeout=150, prelude=FAULTY)
    assert done.returncode != 0
    # a NaN on one rank: each rank stops by itself at the same step, rank 0 saying so too
    assert done.stderr.count("error: training diverged at epoch 1, step 4") == 2, done.stderr
    # an exception on one rank: it says why, and torchrun stops the other
    assert "error: rank 1 failed (simulated)" in done.stderr and "ChildFailedError" in done.stderr
    for name in ("diverging", "failing"):
        assert not list((tmp_path / name / "out").glob("*.json")), "no checkpoint: the first epoch never ended"



def test_the_global_batch_must_split_evenly():
    with pytest.raises(ValueError, match="multiple of 2"):
        World(rank=0, size=2).check_batch(33)


def test_each_rank_takes_its_own_rows_of_the_global_batch_and_of_its_random_numbers():
    rows = torch.arange(8)
    shards = [World(rank=r, size=2).shard(rows) for r in (0, 1)]
    assert torch.equal(torch.cat(shards), rows)
    draws = []
    for rank in (0, 1):
        torch.manual_seed(0)
        draws.append(World(rank=rank, size=2).draw(lambda n: torch.randn(n, 3), 4))
    torch.manual_seed(0)
    assert torch.equal(torch.cat(draws), torch.randn(8, 3)), "together the ranks draw what one process draws"
    assert World(rank=0, size=2).epoch_images(257, 32) == 256, "no rank is left with an empty last batch"


def test_launch_command_runs_torchrun_with_one_process_per_gpu(tmp_path):
    assert launch_command(tmp_path, processes=1)[1:3] == ["-m", "vae_lab.jobs.runner"]
    command = launch_command(tmp_path, processes=4)
    assert command[1:3] == ["-m", "torch.distributed.run"] and command[command.index("--nproc-per-node") + 1] == "4"


def test_the_panel_offers_all_gpus_only_where_several_are_visible():
    for gpus in (0, 1):
        assert all(processes == 1 for _, processes in device_choices(gpus).values())
    choices = device_choices(4)
    assert next(iter(choices)) == "all 4 GPUs" and choices["all 4 GPUs"] == ("cuda", 4)
    assert choices["cuda"] == ("cuda", 1)


@pytest.mark.slow
def test_a_job_on_two_processes_records_and_publishes_once(tiny_checkpoints, tiny_config, tmp_path):
    """What "all N GPUs" starts, on two CPU processes: torchrun runs the job module, rank 0 reports."""
    from test_jobs import wait

    manager = JobManager(workspace_at(tmp_path))
    with pytest.raises(ValueError, match="multiple of 2"):
        manager.start(tiny_config(kind="plain", batch_size=33), processes=2)
    status = manager.start(tiny_config(kind="plain", name="job-two", epochs=2), processes=2)
    done = wait(manager, status.id)
    assert done.state == "succeeded", manager.log_tail(status.id, 40)
    published = checkpoints.read(done.checkpoint)
    assert published.meta["training"]["processes"] == 2
    assert [e["event"] for e in manager.events(status.id)].count("done") == 1


@pytest.mark.slow
def test_cancelling_a_job_on_two_processes_stops_both(tiny_checkpoints, tiny_config, tmp_path):
    from test_jobs import wait

    manager = JobManager(workspace_at(tmp_path))
    status = manager.start(tiny_config(kind="plain", name="job-two-cancel", epochs=50, train_limit=1024), processes=2)
    wait(manager, status.id, until=lambda s: any(e["event"] == "epoch" for e in manager.events(status.id)))
    assert manager.cancel(status.id).state == "cancelled"
    folder = str(manager.folder(status.id))

    def job_processes() -> list[str]:  # torchrun and its two ranks name the job folder on their command line
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                found += [cmdline.parent.name] if folder in cmdline.read_bytes().decode(errors="replace") else []
            except OSError:
                pass
        return found
    for _ in range(100):
        if not job_processes():
            break
        time.sleep(0.1)
    assert not job_processes(), "a rank outlived the cancel"
