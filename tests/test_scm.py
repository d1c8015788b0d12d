"""The numerical claims of notebook 02 (Sec. 3.2, Eq. 5-9): the linear confounded SCM, OLS bias, IV; its
figures (`cibtools.scm_plots`) and its exercise checkers (`cibtools.exercises`)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cibtools import exercises, scm, scm_plots  # noqa: E402
from cibtools.scm import LinearSCM  # noqa: E402

MODELS = [LinearSCM(), LinearSCM(w_sx=2, w_sy=-1, w_xy=1.5, w_rx=0.7, sigma_ux=0.5),
          LinearSCM(w_sx=-0.5, w_sy=1.5, w_xy=-0.3, sigma_r=2, sigma_s=1.5)]


def test_sample_follows_the_structural_equations_and_keeps_units_across_interventions():
    m = LinearSCM(w_sx=0.7, w_sy=-1.2, w_xy=0.4, w_rx=1.3)
    base, inst = m.sample(1000, seed=5, instrument=False), m.sample(1000, seed=5, instrument=True)
    assert np.all(base.r == 0) and np.array_equal(base.s, inst.s)
    # x_r - x = w_rx r and y_r - y = w_xy w_rx r on the same units: Eq. 8 with u_x, u_y, s held fixed
    assert np.allclose(inst.x - base.x, m.w_rx * inst.r)
    assert np.allclose(inst.y - base.y, m.w_xy * m.w_rx * inst.r)
    u_y = inst.y - m.w_xy * inst.x - m.w_sy * inst.s
    assert abs(np.corrcoef(u_y, inst.s)[0, 1]) < 0.15 and u_y.std() == pytest.approx(m.sigma_uy, rel=0.1)
    assert m.sample(10, seed=1, reps=4).x.shape == (4, 10)


def test_closed_form_moments_match_monte_carlo():
    m = LinearSCM(w_sx=1.2, w_sy=0.8, w_xy=-0.5, w_rx=0.9, w_sr=0.4, w_ry=0.3)
    s, r, x, y = m.sample(400_000, seed=2)
    mom = m.moments()
    assert np.var(x) == pytest.approx(mom["var_x"], rel=0.01)
    assert np.cov(x, y)[0, 1] == pytest.approx(mom["cov_xy"], rel=0.02)
    assert np.cov(r, x)[0, 1] == pytest.approx(mom["cov_rx"], rel=0.02)
    assert np.cov(r, y)[0, 1] == pytest.approx(mom["cov_ry"], rel=0.03)


@pytest.mark.parametrize("m", MODELS)
@pytest.mark.parametrize("instrument", [False, True])
def test_ols_bias_matches_its_formula_within_monte_carlo_error(m, instrument):
    reps, n = 40, 20_000
    smp = m.sample(n, seed=3, instrument=instrument, reps=reps)
    slopes = scm.ols_slope(smp.x, smp.y)
    bias = slopes.mean() - m.w_xy
    mc_error = slopes.std(ddof=1) / np.sqrt(reps)
    assert abs(bias - scm.ols_bias_formula(m, instrument)) < 4 * mc_error + 1e-4
    assert abs(scm.ols_bias_formula(m, instrument)) > 20 * mc_error  # the bias is real, not noise


def test_ols_bias_formula_written_out_and_general_form_agree():
    m = LinearSCM(w_sx=2, w_sy=-1, w_rx=1.5, sigma_ux=0.5)
    assert scm.ols_bias_formula(m, True) == pytest.approx(-1 * 2 / (4 + 2.25 + 0.25))
    assert scm.ols_bias_formula(m, False) == pytest.approx(-2 / 4.25)
    mom = m.moments()
    assert scm.ols_bias_formula(m) == pytest.approx(mom["cov_xy"] / mom["var_x"] - m.w_xy)
    assert scm.ols_bias_formula(m.replace(w_sy=0)) == 0 and scm.ols_bias_formula(m.replace(w_sx=0)) == 0


@pytest.mark.parametrize("m", MODELS)
def test_iv_recovers_w_xy_at_large_n_and_ols_does_not(m):
    s, r, x, y = m.sample(200_000, seed=4)
    est, lo, hi = scm.iv_ci(r, x, y)
    assert abs(est - m.w_xy) < 0.02 and lo < m.w_xy < hi
    assert scm.iv_bias_formula(m) == 0
    ols, olo, ohi = scm.ols_ci(x, y)
    assert not olo < m.w_xy < ohi


def test_two_stage_least_squares_equals_wald_and_grouped_wald_is_consistent():
    for k, m in enumerate(MODELS):
        smp = m.sample(3000, seed=k)
        assert scm.two_stage_least_squares(smp.r, smp.x, smp.y) == pytest.approx(scm.iv_wald(smp.r, smp.x, smp.y),
                                                                                  rel=1e-10)
        batch = m.sample(300, seed=k, reps=5)
        assert np.allclose(scm.two_stage_least_squares(batch.r, batch.x, batch.y), scm.iv_wald(batch.r, batch.x, batch.y))
        big = m.sample(200_000, seed=k)
        assert scm.iv_wald_grouped(big.r, big.x, big.y) == pytest.approx(m.w_xy, abs=0.03)


def test_iv_confidence_interval_has_its_nominal_coverage_and_bootstrap_agrees():
    df = scm.estimates_vs_n(LinearSCM(), [500], reps=400, seed=1)
    coverage = df[df.estimator == "IV (Wald)"].covers.mean()
    assert 0.91 < coverage < 0.98
    assert df[df.estimator == "OLS"].covers.mean() < 0.05
    smp = LinearSCM().sample(2000, seed=8)
    est, blo, bhi = scm.bootstrap_ci(scm.iv_wald, (smp.r, smp.x, smp.y), n_boot=300, seed=0)
    _, alo, ahi = scm.iv_ci(smp.r, smp.x, smp.y)
    assert blo < est < bhi and (bhi - blo) == pytest.approx(ahi - alo, rel=0.25)


def test_invalid_instruments_bias_the_wald_estimate_as_their_formula_says():
    for m in (LinearSCM(w_sr=0.8), LinearSCM(w_ry=0.7)):
        smp = m.sample(200_000, seed=6)
        bias = float(scm.iv_wald(smp.r, smp.x, smp.y)) - m.w_xy
        assert abs(bias) > 0.1 and bias == pytest.approx(scm.iv_bias_formula(m), abs=0.03)
    assert scm.iv_bias_formula(LinearSCM(w_rx=0)) == float("inf")


def test_instrument_checks_pass_for_a_valid_instrument_and_flag_each_violation():
    checks = {name: scm.instrument_checks(smp, 0.5).set_index("condition").passed
              for name, smp in exercises.instrument_candidates().items()}
    assert checks["C"].all()
    assert not checks["A"]["independence: R independent of S"]
    assert not checks["B"]["exclusion: R affects Y only through X"] and checks["B"]["independence: R independent of S"]
    assert not checks["D"]["relevance: R moves X"]
    none = scm.instrument_checks(LinearSCM().sample(500, instrument=False), 0.5)
    assert not none.set_index("condition").passed["relevance: R moves X"]


def test_eq7_on_the_same_units_is_exactly_w_xy():
    m = LinearSCM(w_xy=-0.8, w_sy=3)
    assert np.allclose(scm.eq7_unit_level(m, 100, r_i=0.3, r_j=-2.0), m.w_xy)


def test_effect_ratio_is_constant_for_linear_response_and_varies_for_nonlinear():
    m = LinearSCM(w_rx=1.5, w_xy=0.4)
    r, w = scm.effect_ratios(m, n_units=50, n_draws=10, seed=1, response="linear")
    assert np.allclose(w, m.w_rx * m.w_xy) and scm.ratio_spread(w) < 1e-12  # Eq. 9
    _, w_nl = scm.effect_ratios(m, n_units=50, n_draws=10, seed=1, response="tanh", nonlinearity=1.0)
    assert scm.ratio_spread(w_nl) > 1e-2 and w_nl.std(0).min() > 0
    curve = scm.causal_loss_vs_nonlinearity([0.0, 0.5, 1.0], m)
    assert curve.iloc[0, 1:].max() < 1e-12
    assert (np.diff(curve["SCM ratio spread"]) > 0).all() and (np.diff(curve["L_causal (tiny decoder)"]) > 0).all()


def test_causal_loss_of_the_engine_is_zero_only_for_linear_logits_with_scalar_instrument():
    table = scm.causal_loss_table().set_index(["decoder", "response", "instrument"]).L_causal
    assert table[("linear", "logits", "scaled")] < 1e-12
    others = table.drop(("linear", "logits", "scaled"))
    assert (others > 1e-3).all()  # softmax probabilities bend even a linear decoder; reparam noise varies direction


def test_sweeps_return_tidy_frames():
    df = scm.estimates_vs_n(LinearSCM(), [100, 1000], reps=30, max_block=5000)
    assert set(df.estimator) == set(scm.ESTIMATORS) and len(df) == 2 * 2 * 30
    summary = scm.summarise_estimates(df)
    assert {"median", "q_low", "q_high", "coverage"} <= set(summary.columns)
    conf = scm.estimates_vs_confounding(LinearSCM(), [-1.0, 0.0, 1.0], n=500, reps=10)
    ols = conf[conf.estimator == "OLS"].drop_duplicates("strength")
    assert np.allclose(ols.formula, [0.5 + scm.ols_bias_formula(LinearSCM(w_sy=c)) for c in (-1, 0, 1)])
    table = scm.estimate_table(LinearSCM().sample(2000), LinearSCM(), n_boot=50)
    assert isinstance(table, pd.DataFrame) and {"boot_low", "boot_high", "large-sample value"} <= set(table.columns)
    with pytest.raises(ValueError):
        scm.estimates_vs_confounding(LinearSCM(), [1.0], vary="w_xy")


def test_ols_bias_table_puts_the_formula_inside_the_interval_at_large_n():
    m = LinearSCM()
    table = scm.ols_bias_table(m, 200_000, seed=1)
    assert list(table["data"]) == ["x (Figure 2)", "x_r (Figure 3)"] and table["formula inside CI"].all()
    assert np.allclose(table["bias formula"], [scm.ols_bias_formula(m, False), scm.ols_bias_formula(m, True)])
    assert np.allclose(table["measured bias"], table["OLS slope"] - m.w_xy)


def test_widget_builds_and_figures_draw():
    widget = scm_plots.interactive_ols_vs_iv(reps=20)
    assert len(widget.children) >= 9
    fig = scm_plots.plot_ols_vs_iv(LinearSCM(), n=200, reps=20)
    left, right = fig.axes
    assert len(left.get_lines()) == 3 and "y" in left.get_ylabel() and len(right.patches) > 0
    plt.close(fig)
    fig = scm_plots.plot_ols_vs_iv(LinearSCM(w_sx=0, w_rx=0, sigma_ux=0), n=50, reps=5)  # x constant: says so
    assert "does not vary" in fig.axes[1].texts[0].get_text()
    plt.close(fig)


def test_notebook_figures_have_their_panels():
    m = LinearSCM()
    fig = scm_plots.causal_graph_figure(m)
    assert [a.get_title().split(":")[0] for a in fig.axes] == ["Figure 2", "Figure 3"]
    assert "w_{xy}$ = 0.5" in " ".join(t.get_text() for t in fig.axes[1].texts)
    plt.close(fig)
    df = scm.estimates_vs_n(m, [100, 1000], reps=10)
    conf = scm.estimates_vs_confounding(m, [-1.0, 1.0], n=300, reps=7)
    fig = scm_plots.estimates_figure(scm.summarise_estimates(df), conf, m, n=300)
    assert fig.axes[0].get_xscale() == "log" and "n = 300, 7 data sets" in fig.axes[1].get_title()
    assert len(fig.axes[0].get_lines()) == 2 * 3 + 2  # per estimator: median and two CI lines; truth; OLS limit
    plt.close(fig)
    curve = scm.causal_loss_vs_nonlinearity([0.0, 1.0], m, n_units=20)
    fig = scm_plots.effect_ratio_figure(m, curve)
    assert len(fig.axes) == 3 and "L_causal" in fig.axes[2].get_ylabel()  # the spread panel has a twin axis
    assert len(fig.axes[0].collections) == 2  # linear and tanh responses
    plt.close(fig)
    table = scm.causal_loss_table(batch=8)
    fig = scm_plots.causal_loss_figure(table)
    assert len(fig.axes[0].patches) == len(table) == 8 and fig.axes[0].get_yscale() == "log"
    plt.close(fig)


# ----------------------------------------------------------------------------- exercise checkers

def test_iv_checker_accepts_right_answers_and_hints_on_wrong_ones():
    assert exercises.check_iv_estimator(scm.iv_wald)
    assert exercises.check_iv_estimator(lambda r, x, y: np.cov(r, y)[0, 1] / np.cov(r, x)[0, 1])
    assert exercises.check_iv_estimator(scm.two_stage_least_squares)
    empty = exercises.check_iv_estimator(lambda r, x, y: ...)
    assert not empty and "empty" in empty.message and "Hint" in empty.message
    ols = exercises.check_iv_estimator(lambda r, x, y: scm.ols_slope(x, y))
    assert not ols and "OLS" in ols.message
    flipped = exercises.check_iv_estimator(lambda r, x, y: np.cov(r, x)[0, 1] / np.cov(r, y)[0, 1])
    assert not flipped and "upside down" in flipped.message


def test_iv_checker_turns_exceptions_into_hints():
    def broken(r, x, y):
        return r.cov(y)  # numpy arrays have no .cov: AttributeError

    def unfinished(r, x, y):
        raise NotImplementedError

    for fn, word in ((broken, "AttributeError"), (unfinished, "not written yet")):
        verdict = exercises.check_iv_estimator(fn)
        assert not verdict and word in verdict.message and "Hint" in verdict.message
    assert not exercises.check_iv_estimator(0.5)


def test_ols_bias_checker():
    m = exercises.BIAS_SCM
    right = scm.ols_bias_formula(m, True)
    assert exercises.check_ols_bias(right) and exercises.check_ols_bias(right * 1.01)
    assert "empty" in exercises.check_ols_bias(...).message
    assert "slope" in exercises.check_ols_bias(m.w_xy + right).message
    assert "sign" in exercises.check_ols_bias(-right).message
    assert "without the instrument" in exercises.check_ols_bias(scm.ols_bias_formula(m, False)).message
    assert not exercises.check_ols_bias("a lot") and not exercises.check_ols_bias(0.0)
    # the message never prints the solution
    for wrong in (0.0, -right, m.w_xy + right, ...):
        assert f"{right:.3f}" not in exercises.check_ols_bias(wrong).message


def test_instrument_choice_checker():
    assert exercises.check_instrument_choice("C") and exercises.check_instrument_choice(" c ") and exercises.check_instrument_choice(["C"])
    for wrong in ("A", "B", "D"):
        verdict = exercises.check_instrument_choice(wrong)
        assert not verdict and f"candidate {wrong}" in verdict.message
    assert "empty" in exercises.check_instrument_choice(...).message
    assert not exercises.check_instrument_choice(["A", "C"]) and not exercises.check_instrument_choice("E")
    assert not exercises.check_instrument_choice(3)
