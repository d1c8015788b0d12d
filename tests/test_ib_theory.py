"""The numerical claims of notebook 01 (VIB bounds on a Gaussian toy, Eq. 13-23), its figures
(`cibtools.ib_plots`) and its exercise checkers (`cibtools.exercises`)."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import cibtools as cb  # noqa: E402
from cibtools import exercises, ib_plots  # noqa: E402
from cibtools import ib_theory as ib  # noqa: E402
from cibtools.train import model_for  # noqa: E402

N = 100_000


@pytest.fixture(scope="module")
def toy():
    return ib.make_toy()


def test_closed_form_mutual_information_matches_scalar_formula():
    t = ib.GaussianToy.one_dim(a=2.0, sigma_x=1.5, sigma_e=1.0, b=0.5, sigma_n=0.7)
    assert math.isclose(t.i_zx(), 0.5 * math.log(1 + 4 * 2.25 / 1.0), rel_tol=1e-12)
    rho2 = (0.5 * 2.0 * 2.25) ** 2 / ((4 * 2.25 + 1.0) * (0.25 * 2.25 + 0.49))
    assert math.isclose(t.i_zy(), -0.5 * math.log(1 - rho2), rel_tol=1e-12)
    assert t.i_zy() <= t.i_zx()  # data processing along Y <- X -> Z


def test_mutual_information_of_independent_blocks_is_zero():
    assert abs(ib.mutual_information(np.eye(2), 3 * np.eye(3), np.zeros((2, 3)))) < 1e-12


def test_eq13_monte_carlo_matches_closed_form(toy):
    est = ib.i_zy_mc(toy, N, seed=0)
    assert est.agrees_with(toy.i_zy())


def test_eq14_regression_recovers_the_true_decoder(toy):
    w0, _, s0 = toy.true_decoder()
    w, b, s = ib.fitted_decoder(toy, N, seed=0)
    assert np.abs(w - w0).max() < 0.03 and np.abs(s - s0).max() < 0.03 and np.abs(b).max() < 0.03


def test_bound_table_upper_above_lower_below_and_mc_agrees(toy):
    table = ib.bound_table(toy, n=N, seed=0)
    assert table["bound_holds"].all() and table["mc_agrees"].all()
    upper, lower = table[table.quantity == "I(Z;X)"], table[table.quantity == "I(Z;Y)"]
    assert (upper["closed_form"] >= upper["truth"] - 1e-10).all()
    assert (lower["closed_form"] <= lower["truth"] + 1e-10).all()
    # the loose choices are strictly loose, the tight ones exact
    assert upper["gap"].iloc[0] > 0.05 and abs(upper["gap"].iloc[1]) < 1e-10
    assert lower["gap"].iloc[0] < -0.05 and abs(lower["gap"].iloc[1]) < 1e-10
    # each slack is the KL divergence the derivation predicts
    assert np.allclose(table["gap"], table["kl_gap"], atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_bounds_hold_for_random_variational_distributions(seed):
    toy = ib.make_toy(seed=seed + 10)
    rng = np.random.default_rng(seed)
    m = rng.standard_normal(toy.d_z)
    q = rng.standard_normal((toy.d_z, toy.d_z))
    r_cov = q @ q.T + 0.1 * np.eye(toy.d_z)
    assert ib.rate_upper_bound(toy, m, r_cov) >= toy.i_zx()
    assert math.isclose(ib.rate_upper_bound(toy, m, r_cov) - toy.i_zx(), ib.rate_gap(toy, m, r_cov), rel_tol=1e-9)
    w = rng.standard_normal((toy.d_y, toy.d_z))
    b = rng.standard_normal(toy.d_y)
    s = np.diag(rng.uniform(0.2, 2.0, toy.d_y))
    assert ib.decoder_lower_bound(toy, w, b, s) <= toy.i_zy()
    assert math.isclose(toy.i_zy() - ib.decoder_lower_bound(toy, w, b, s), ib.decoder_gap(toy, w, b, s), rel_tol=1e-9)
    mc = ib.decoder_lower_bound_mc(toy, w, b, s, N, seed=seed)
    assert mc.agrees_with(ib.decoder_lower_bound(toy, w, b, s))


def test_bound_curves_touch_the_truth_only_at_scale_one(toy):
    scales = np.array([0.5, 1.0, 2.0])
    curves = ib.bound_curves(toy, scales, scales)
    assert math.isclose(curves["rate"][1], toy.i_zx(), rel_tol=1e-9)
    assert math.isclose(curves["decoder"][1], toy.i_zy(), rel_tol=1e-9)
    assert (curves["rate"][[0, 2]] > toy.i_zx()).all() and (curves["decoder"][[0, 2]] < toy.i_zy()).all()


def test_gaussian_kl_and_log_density_against_scipy_free_identities():
    cov = np.array([[2.0, 0.3], [0.3, 0.5]])
    assert abs(ib.kl_gaussians(np.zeros(2), cov, np.zeros(2), cov)) < 1e-12
    x = np.array([[0.1, -0.2], [1.0, 0.5]])
    inv = np.linalg.inv(cov)
    want = [-0.5 * (2 * math.log(2 * math.pi) + math.log(np.linalg.det(cov)) + v @ inv @ v) for v in x]
    assert np.allclose(ib.gaussian_log_density(x, np.zeros(2), cov), want)
    assert math.isclose(ib.gaussian_entropy(np.array([[1.0]])), 0.5 * math.log(2 * math.pi * math.e))


def test_kl_closed_form_equals_monte_carlo():
    table = ib.kl_check(k=8, batch=4, n=N, seed=0)
    assert (table["rel_diff"] < 0.02).all()


def test_label_entropy_of_balanced_labels_is_log_classes():
    assert math.isclose(ib.label_entropy(torch.arange(10).repeat(5)), math.log(10), rel_tol=1e-12)


def test_vib_information_terms_on_an_untrained_model(mnist_small):
    _, test = mnist_small
    torch.manual_seed(0)
    model = model_for(cb.TrainConfig("vib"))
    data = test.subset(50)
    terms = ib.vib_information_terms(model, data, samples=3)
    with torch.no_grad():
        mu, sigma = model.head.stats(model.encoder(data.images))
    assert math.isclose(terms["kl"], float(cb.losses.kl_to_standard_normal(mu, sigma).mean()), rel_tol=1e-5)
    assert terms["ce"] > 0 and 0 <= terms["acc_mean"] <= 100 and terms["n"] == 50
    again = ib.vib_information_terms(model, data, samples=3)
    assert terms == again  # seeded draws


PLANE = pd.DataFrame({"alpha": [1e-3, 1e-2, 1.0], "kl": [300.0, 40.0, 0.5], "ce": [0.05, 0.1, 2.0],
                      "train_kl": [320.0, 45.0, 0.6], "train_ce": [0.01, 0.08, 2.0], "acc_mean": [97.0, 96.0, 40.0],
                      "acc_sample": [96.5, 95.0, 35.0], "i_zy_lower": [2.25, 2.2, 0.3]})


def test_plot_information_plane_draws_labelled_axes():
    fig, ax = plt.subplots()
    ib_plots.plot_information_plane(PLANE, ax, highlight=1e-2, h_y=math.log(10))
    assert "nats" in ax.get_xlabel() and "nats" in ax.get_ylabel()
    assert ax.get_xscale() == "symlog"  # the KL spans decades
    assert any("α = 0.01" in t.get_text() for t in ax.get_legend().get_texts())  # the highlighted run
    plt.close(fig)


def test_nearest_run_is_nearest_on_a_log_scale():
    assert ib_plots.nearest_run(PLANE, 0.002)["alpha"] == 1e-3 and ib_plots.nearest_run(PLANE, 0.2)["alpha"] == 1.0


def test_bound_curves_figure_draws_both_bounds_with_monte_carlo_points(toy):
    curves = ib.bound_curves(toy, np.geomspace(0.2, 5, 7), np.linspace(0, 2, 7))
    mc = ib.bound_curves_mc(toy, [0.5, 1.0], [0.5, 1.0], n=2000, seed=0)
    assert mc["rate"][1].agrees_with(toy.i_zx()) and len(mc["decoder"]) == 2
    fig = ib_plots.bound_curves_figure(toy, ib.bound_table(toy, n=2000), curves, mc)
    upper, lower = fig.axes
    assert "Eq. 20" in upper.get_title() and "Eq. 16" in lower.get_title() and upper.get_xscale() == "log"
    assert any(f"{toy.i_zx():.3f}" in t.get_text() for t in upper.get_legend().get_texts())
    assert len(upper.containers) == 1 and len(lower.containers) == 1  # one errorbar (Monte Carlo) each
    plt.close(fig)


def test_information_plane_and_run_figures():
    fig = ib_plots.information_plane_figure(PLANE, math.log(10), n_test=500, epochs=1, profile="smoke",
                                            eval_samples=3)
    assert len(fig.axes) == 3  # the plane, its colour bar, accuracy vs alpha
    titles = " | ".join(a.get_title() for a in fig.axes)
    assert "(500 images)" in titles and "(1 epoch, profile smoke)" in titles
    plt.close(fig)
    fig = ib_plots.run_figure(PLANE, 0.9, math.log(10))
    assert fig.axes[0].get_title().startswith("α = 1: accuracy 40.00%")
    plt.close(fig)


def test_information_plane_slider_builds():
    import ipywidgets

    widget = ib_plots.interactive_information_plane(PLANE, math.log(10), ipywidgets)
    assert widget.children[0].value == 1e-3 and [o[0] for o in widget.children[0].options] == ["0.001", "0.01", "1"]
    plt.close("all")


# ---- exercises ----------------------------------------------------------------------------------

def _right_kl(mu, sigma):
    return 0.5 * (mu ** 2 + sigma ** 2 - 1.0) - math.log(sigma)


def test_kl_checker_accepts_right_answers_in_any_numeric_type():
    assert exercises.check_kl_divergence(_right_kl)
    assert exercises.check_kl_divergence(lambda m, s: np.float32(_right_kl(m, s)))
    assert exercises.check_kl_divergence(lambda m, s: torch.tensor([_right_kl(m, s)]))


@pytest.mark.parametrize("wrong, words", [
    (lambda m, s: 2 * _right_kl(m, s), "factor 1/2"),
    (lambda m, s: -_right_kl(m, s), "sign"),
    (lambda m, s: 0.5 * (m ** 2 + s - 1.0) - math.log(s), "Hint"),  # sigma used as a variance
    (lambda m, s: None, "empty"),
    (lambda m, s: 1 / 0, "ZeroDivisionError"),
    (lambda m, s: "0.5", "Hint"),
    (3.0, "pass a function"),
])
def test_kl_checker_rejects_wrong_answers_with_a_hint(wrong, words):
    verdict = exercises.check_kl_divergence(wrong)
    assert not verdict and "Hint" in verdict.message and words in verdict.message


def test_kl_checker_turns_an_exception_into_a_hint_not_a_traceback():
    def broken(mu, sigma):
        raise KeyError("oops")

    verdict = exercises.check_kl_divergence(broken)
    assert not verdict and "KeyError" in verdict.message and "Hint" in verdict.message


def test_kl_checker_never_prints_the_reference_value():
    verdict = exercises.check_kl_divergence(lambda m, s: 0.123)
    assert not verdict
    assert f"{_right_kl(1.0, 1.0):.3f}" not in verdict.message and f"{_right_kl(0.5, 0.3):.3f}" not in verdict.message


def _toy1():
    t = exercises.SCALAR_TOY
    return t["a"], t["sigma_x"], t["sigma_e"]


def test_mi_checker():
    a, sx, se = _toy1()
    right = 0.5 * math.log(1 + a ** 2 * sx ** 2 / se ** 2)
    assert exercises.check_mutual_information(right)
    assert exercises.check_mutual_information(np.array(right))
    for wrong, words in [(right / math.log(2), "bits"), (2 * right, "twice"), (..., "empty"),
                         (None, "empty"), ("abc", "number"), (right + 0.3, "off by"),
                         (0.5 * math.log(a ** 2 * sx ** 2 / se ** 2), "noise")]:
        verdict = exercises.check_mutual_information(wrong)
        assert not verdict and "Hint" in verdict.message and words in verdict.message, (wrong, verdict)
        assert f"{right:.3f}" not in verdict.message


def test_gap_checker():
    a, sx, se = _toy1()
    v = a ** 2 * sx ** 2 + se ** 2
    right = 0.5 * (v - 1 - math.log(v))
    assert exercises.check_prior_gap(right)
    toy = ib.GaussianToy.one_dim(a, sx, se)
    for wrong, words in [(ib.rate_upper_bound(toy), "bound itself"), (-right, "negative"),
                         (..., "empty"), ([1.0, 2.0], "shape"), (right * 1.5, "off by")]:
        verdict = exercises.check_prior_gap(wrong)
        assert not verdict and "Hint" in verdict.message and words in verdict.message, (wrong, verdict)
    # the Monte Carlo slack agrees with the answer
    est = ib.rate_upper_bound_mc(toy, n=N, seed=0)
    assert abs(est.value - toy.i_zx() - right) < 4 * est.stderr
