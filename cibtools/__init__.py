"""cibtools: the reusable core of the CausalIB notebooks (Hua et al., "Causal Information Bottleneck
Boosts Adversarial Robustness of Deep Neural Network").

Data loading, models, losses (VIB Eq. 4, CausalIB Eq. 9-11, baselines), training with a checkpoint
cache, attacks and evaluation. Runs on CUDA when present, else on the CPU.

The package is flat on purpose. Its modules fall into three groups:
- engine: `data`, `models`, `losses`, `config`, `train`, `cache`, `zoo`, `attacks`, `evaluate`,
  `adaptive`, `minimal_eps`, `ablation`;
- lessons: `lesson`, `ib_theory`, `scm`, `exercises`, the drawing modules (`plotting`, `visual`, `adaptive_plots`,
  `ib_plots`, `scm_plots`, `diagrams`), `paper` (the paper's numbers), `reporting`;
- run: `profiles`, `paths`, `results`, `runner`, `summary`, `site`, `repository`, `paper_settings`,
  `verdict`.
Sub-packages (an `engine` package, ...) were considered and not made: with about thirty short
modules of one job each, they would lengthen every notebook import without removing a dependency or a
cycle (there are none), and `from cibtools import evaluate` already says what a cell uses.
"""
from .cache import CheckpointError, train_or_load
from .config import METHOD_LABELS, METHODS, PAPER_EPS, TrainConfig
from .data import DataError, TensorData, load_dataset
from .evaluate import AttackSpec, robust_accuracy
from . import lesson
from .lesson import settings
from .train import TrainResult, default_device, train

__version__ = "0.1.0"
__all__ = ["AttackSpec", "CheckpointError", "DataError", "METHODS", "METHOD_LABELS", "PAPER_EPS",
           "TensorData", "TrainConfig", "TrainResult", "default_device", "lesson", "load_dataset",
           "robust_accuracy", "settings", "train", "train_or_load"]
