"""cibtools: the reusable core of the CausalIB notebooks (Hua et al., "Causal Information Bottleneck
Boosts Adversarial Robustness of Deep Neural Network").

Data loading, models, losses (VIB Eq. 4, CausalIB Eq. 9-11, baselines), training with a checkpoint
cache, attacks and evaluation. Runs on CUDA when present, else on the CPU.
"""
from .cache import CheckpointError, train_or_load
from .config import METHOD_LABELS, METHODS, PAPER_EPS, TrainConfig
from .data import DataError, TensorData, load_dataset
from .evaluate import AttackSpec, robust_accuracy
from .profiles import settings
from .train import TrainResult, default_device, train

__version__ = "0.1.0"
__all__ = ["AttackSpec", "CheckpointError", "DataError", "METHODS", "METHOD_LABELS", "PAPER_EPS",
           "TensorData", "TrainConfig", "TrainResult", "default_device", "load_dataset",
           "robust_accuracy", "settings", "train", "train_or_load"]
