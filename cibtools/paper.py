"""The paper's reported numbers, for side-by-side comparison only (never used as our results).

Transcribed from Hua et al., Tables 1, 3, 4, 6, 8 and Sec. 4.3 (Fig. 4's 50% crossings).
Values are accuracy in %, `(mean, std)` where the paper gives a std.
"""
from __future__ import annotations

import pandas as pd

# Table 1: white-box attacks, eps = 50/255, MLP.
TABLE1 = {
    "mnist": {
        "baseline": {"clean": (95.11, 0.72), "FGSM": (6.76, 0.93), "PGD-20": (0.0, 0.0)},
        "mixup": {"clean": (98.22, 0.81), "FGSM": (20.66, 1.51), "PGD-20": (0.43, 0.08)},
        "rs": {"clean": (98.45, 0.53), "FGSM": (34.15, 0.91), "PGD-20": (13.38, 0.93)},
        "ciiv": {"clean": (97.94, 0.06), "FGSM": (71.80, 0.32), "PGD-20": (48.48, 0.77)},
        "vib": {"clean": (98.70, 0.26), "FGSM": (66.06, 0.21), "PGD-20": (41.84, 0.33)},
        "causalib": {"clean": (98.85, 0.20), "FGSM": (81.07, 0.82), "PGD-20": (53.71, 0.51)},
        "at_fgsm": {"clean": (94.02, 0.12), "FGSM": (75.82, 1.13), "PGD-20": (67.86, 2.35)},
        "at_pgd": {"clean": (93.92, 0.05), "FGSM": (78.31, 2.58), "PGD-20": (69.84, 0.94)},
    },
    "fashion_mnist": {
        "baseline": {"clean": (89.81, 0.49), "FGSM": (0.63, 0.34), "PGD-20": (0.0, 0.0)},
        "mixup": {"clean": (90.44, 0.29), "FGSM": (9.13, 3.05), "PGD-20": (0.11, 0.04)},
        "rs": {"clean": (89.71, 0.22), "FGSM": (13.57, 1.13), "PGD-20": (1.30, 0.21)},
        "ciiv": {"clean": (94.84, 0.15), "FGSM": (44.82, 0.87), "PGD-20": (15.01, 0.34)},
        "vib": {"clean": (94.42, 0.44), "FGSM": (25.88, 0.41), "PGD-20": (3.98, 0.58)},
        "causalib": {"clean": (94.06, 0.25), "FGSM": (50.81, 0.80), "PGD-20": (14.06, 0.11)},
        "at_fgsm": {"clean": (89.95, 0.15), "FGSM": (55.52, 0.80), "PGD-20": (17.46, 1.76)},
        "at_pgd": {"clean": (87.22, 0.49), "FGSM": (56.43, 0.61), "PGD-20": (41.87, 1.60)},
    },
}

# Tables 3 and 6: CausalIB ablations on MNIST, keyed by (alpha, beta) or norm; values clean / FGSM / PGD-20.
# Not in `reporting.paper_reference`'s (dataset, method, attack) format on purpose: these cells are one method
# under different hyperparameters, without a std, and only `ablation` (notebook 06) reads them.
ABLATION = {
    "L1": (98.85, 81.07, 53.71), "L2": (97.37, 78.55, 45.62),
    (0.0, 0.0): (95.11, 6.76, 0.0), (0.05, 0.0): (98.41, 63.61, 38.98), (0.05, 0.05): (98.85, 81.07, 53.71),
    (0.05, 1.0): (92.69, 68.32, 20.49), (0.01, 0.05): (95.62, 74.86, 29.65),
    (0.01, 0.01): (95.32, 73.50, 34.41), (0.01, 0.2): (96.24, 71.27, 33.90), (0.01, 1.0): (90.35, 60.23, 28.73),
    (0.05, 0.01): (97.46, 78.40, 50.42), (0.05, 0.2): (96.39, 76.52, 49.69), (0.05, 0.5): (93.56, 69.09, 29.30),
    (0.0, 0.05): (94.62, 42.99, 16.88), (0.0, 0.2): (95.28, 38.49, 15.33), (0.0, 1.0): (92.52, 26.20, 12.16),
}

# Table 4: AutoAttack (eps = 8/255 for L-inf as stated; the L2 eps is not given), clean / AA-Linf / AA-L2.
TABLE4 = {
    "mnist": {"baseline": (95.11, 56.01, 67.19), "vib": (98.70, 89.01, 92.68), "ciiv": (97.94, 94.88, 96.03),
              "causalib": (98.85, 95.10, 96.89)},
    "fashion_mnist": {"baseline": (89.81, 34.16, 48.92), "vib": (94.42, 65.21, 76.54),
                      "ciiv": (94.84, 78.42, 83.03), "causalib": (94.06, 80.77, 83.72)},
}

# Table 8: CW-20 accuracy.
TABLE8 = {"mnist": {"baseline": 88.92, "vib": 94.45, "ciiv": 96.08, "causalib": 96.55},
          "fashion_mnist": {"baseline": 52.65, "vib": 86.05, "ciiv": 90.15, "causalib": 90.77}}

# Sec. 4.3 / Fig. 4: eps (in /255) at which FGSM accuracy on MNIST drops below 50%.
FIG4_FGSM_CROSSING_255 = {"vib": 72, "causalib": 96}

# Table 2 (CIFAR-10, AlexNet, eps = 8/255): clean, FGSM, PGD-20, black-box FGSM, black-box PGD-20.
TABLE2 = {
    "baseline": (88.06, 30.48, 0.12, 31.60, 0.52), "mixup": (88.46, 42.54, 12.33, 42.54, 12.13),
    "rs": (90.40, 44.22, 22.23, 49.23, 28.23), "ciiv": (89.50, 52.95, 33.62, 53.95, 34.85),
    "vib": (91.93, 41.89, 22.81, 39.40, 23.31), "causalib": (91.76, 54.11, 35.89, 56.36, 36.02),
    "at_fgsm": (85.49, 86.32, 23.40, None, None), "at_pgd": (85.39, 65.91, 61.20, None, None),
}
# Table 5 / Table 10 AlexNet column: AutoAttack L-inf at 8/255 on CIFAR-10.
TABLE5_AA_LINF_CIFAR10 = {"baseline": 0.0, "vib": 18.60, "ciiv": 26.33, "causalib": 28.7}


def table1_frame(dataset: str) -> pd.DataFrame:
    """Table 1 for one dataset as a long frame: method, attack, paper_mean, paper_std."""
    rows = [{"method": m, "attack": a, "paper_mean": v[0], "paper_std": v[1]}
            for m, cols in TABLE1[dataset].items() for a, v in cols.items()]
    return pd.DataFrame(rows)
