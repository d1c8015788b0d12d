"""Train the quick profile's models of one dataset on a GPU into a checkpoint folder (most expensive first).

Used once to speed up a CPU reproduction run: checkpoints are keyed by config only, so the CPU run loads
them; notebook 03's table records the device each model was trained on.

    CIB_CACHE_DIR=DIR python scripts/train_quick_gpu.py fashion_mnist
"""
import sys

from cibtools import zoo

ORDER = ("at_pgd", "ciiv", "causalib", "at_fgsm", "vib", "rs", "mixup", "baseline")

if __name__ == "__main__":
    for method in ORDER:
        run = zoo.get_model(method, sys.argv[1], "quick", device="cuda", progress=False)
        print(f"{method}: {run.train_seconds:.0f} s on {run.device}", flush=True)
