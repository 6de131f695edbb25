"""vae_lab: why pixel-wise losses make VAEs blurry, and how perceptual losses fix it.

    import vae_lab
    vae_lab.available()                  # the checkpoints you can load
    vae = vae_lab.load("dfc")            # an eval-mode VAE
    images = vae.sample(16)              # (16, 1, 28, 28) in [0, 1]
"""
__version__ = "0.2.0"  # set before the imports below: train.py records it in checkpoints

from .checkpoints import Checkpoint, CheckpointError, available, find, load
from .data import DataMissingError, load_split
from .layouts import Posterior
from .models import VAE, Classifier, Critic
from .config import TrainConfig
from .train import TrainEvent, TrainingDiverged, train

__all__ = ["Checkpoint", "CheckpointError", "Classifier", "Critic", "DataMissingError", "Posterior",
           "TrainConfig", "TrainEvent", "TrainingDiverged", "VAE", "available", "find", "load",
           "load_split", "train"]
