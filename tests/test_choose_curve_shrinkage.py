"""Tests of the release's curve choice in tools/choose_curve_shrinkage.py on made-up errors."""

import numpy as np
import pytest
from tool_scripts import load_tool


@pytest.fixture(scope="module")
def chooser():
    return load_tool("choose_curve_shrinkage")


def measured(per_sample: dict[str, dict[str, np.ndarray]]) -> dict:
    """``measure``'s layout from per-sample stops ``{set: {curve key: errors}}``."""
    return {name: {"samples": len(next(iter(errors.values()))),
                   "stops": {key: float(np.mean(values)) for key, values in errors.items()},
                   "curve_l2": {key: 0.0 for key in errors},
                   "per_sample_stops": {key: list(values) for key, values in errors.items()}}
            for name, errors in per_sample.items()}


def errors(rng, level: float, noise: float = 0.05, samples: int = 200) -> np.ndarray:
    return level + noise * rng.standard_normal(samples)


def test_a_blend_ships_only_where_it_beats_the_fixed_curves_on_modern_encodings(chooser):
    rng = np.random.default_rng(0)
    base = {"modern": errors(rng, 0.0), "dorf_train": errors(rng, 0.0)}
    levels = {  # (modern, DoRF) mean stops per curve
        "g0@0.0": (0.33, 0.65), "gamma_2_2@0.0": (0.40, 0.80), "srgb@0.0": (0.32, 0.89),
        "dorf_mean@0.0": (0.45, 0.70), "square@0.0": (0.42, 0.85),
        "learned": (0.34, 0.75), "srgb@0.3": (0.30, 0.80), "srgb@0.6": (0.31, 0.77), "g0@0.5": (0.325, 0.68)}
    per_sample = {name: {key: base[name] + level[index] for key, level in levels.items()}
                  for index, name in enumerate(("modern", "dorf_train"))}
    result = chooser.choose(measured(per_sample))
    # srgb@0.3 and srgb@0.6 beat inverse sRGB on modern; srgb@0.6 does better on DoRF.
    assert result["chosen_curve"] == "srgb@0.6"
    assert (result["chosen_shrinkage"], result["shrink_toward"], result["fixed_curve"]) == (0.6, "srgb", None)
    assert result["beats_fixed_curves_on_modern"] and not result["beats_every_fixed_curve"]
    assert result["ratio_to_best_fixed"]["modern"] == pytest.approx(0.31 / 0.32, rel=1e-3)


def test_the_best_modern_fixed_curve_ships_when_no_blend_beats_it_with_confidence(chooser):
    rng = np.random.default_rng(1)
    modern = {"g0@0.0": errors(rng, 0.33), "gamma_2_2@0.0": errors(rng, 0.40), "srgb@0.0": errors(rng, 0.32),
              "dorf_mean@0.0": errors(rng, 0.45), "square@0.0": errors(rng, 0.42)}
    spread = rng.standard_normal(200)
    spread = (spread - spread.mean()) / spread.std()
    modern["learned"] = modern["srgb@0.0"] - 0.001 + 0.2 * spread  # lower on average, but within the noise
    dorf = {key: errors(rng, 0.7) for key in modern}
    result = chooser.choose(measured({"modern": modern, "dorf_train": dorf}))
    assert result["modern_upper_bound_of_difference_to_best_fixed"]["learned"] > 0.0
    assert (result["chosen_shrinkage"], result["shrink_toward"], result["fixed_curve"]) == (0.0, None, "srgb")
    assert not result["beats_fixed_curves_on_modern"]


def test_every_fixed_curve_of_the_evaluation_is_one_to_beat_but_only_fallbacks_ship_alone(chooser):
    rng = np.random.default_rng(2)
    base = errors(rng, 0.0)
    modern = {"g0@0.0": 0.33, "gamma_2_2@0.0": 0.40, "srgb@0.0": 0.32, "dorf_mean@0.0": 0.45,
              "square@0.0": 0.31, "learned": 0.315}  # x^2 best on modern: the learned curve does not beat it
    dorf = {"g0@0.0": 0.65, "gamma_2_2@0.0": 0.80, "srgb@0.0": 0.89, "dorf_mean@0.0": 0.60, "square@0.0": 0.85,
            "learned": 0.62}
    result = chooser.choose(measured({name: {key: base + level for key, level in levels.items()}
                                      for name, levels in (("modern", modern), ("dorf_train", dorf))}))
    assert not result["beats_fixed_curves_on_modern"]
    # x^2 and the mean DoRF curve are baselines, not model fallbacks: the best fallback ships.
    assert (result["chosen_shrinkage"], result["shrink_toward"], result["fixed_curve"]) == (0.0, None, "srgb")
    assert result["ratio_to_best_fixed"]["dorf_train"] == pytest.approx(0.89 / 0.60, rel=1e-3)


def test_a_blend_toward_a_mixed_fallback_ships_as_its_curve_and_share(chooser):
    rng = np.random.default_rng(3)
    base = errors(rng, 0.0)
    modern = {"g0@0.0": 0.33, "gamma_2_2@0.0": 0.40, "srgb@0.0": 0.32, "dorf_mean@0.0": 0.45, "square@0.0": 0.42,
              "learned": 0.34, "srgb@0.4": 0.29, "srgb0.5+g0@0.4": 0.30}
    dorf = {"g0@0.0": 0.74, "gamma_2_2@0.0": 1.27, "srgb@0.0": 0.94, "dorf_mean@0.0": 0.73, "square@0.0": 1.15,
            "learned": 0.66, "srgb@0.4": 0.74, "srgb0.5+g0@0.4": 0.69}  # the plain blend loses on DoRF
    result = chooser.choose(measured({name: {key: base + level for key, level in levels.items()}
                                      for name, levels in (("modern", modern), ("dorf_train", dorf))}))
    assert result["chosen_curve"] == "srgb0.5+g0@0.4"
    assert (result["chosen_shrinkage"], result["shrink_toward"], result["shrink_toward_share"]) == (0.4, "srgb", 0.5)
    assert result["beats_every_fixed_curve"]


def test_an_ensemble_scores_the_mean_of_its_members_curves_and_each_blend_of_it(chooser):
    from singlehdr_tf import crf
    from singlehdr_tf.layers import InverseCRF

    rng = np.random.default_rng(4)
    members = [rng.normal(0.0, 0.5, (3, 11)).astype(np.float32) for _ in range(2)]
    learned, blend = InverseCRF(11).inverse_crf, InverseCRF(11, shrinkage=0.4, shrink_toward="srgb").inverse_crf
    mean = chooser.ensemble_curve(learned, members)
    np.testing.assert_allclose(mean, (np.asarray(learned(members[0])) + np.asarray(learned(members[1]))) / 2)
    assert np.all(np.diff(mean, axis=-1) >= 0) and np.allclose(mean[:, [0, -1]], [0.0, 1.0])
    np.testing.assert_allclose(chooser.ensemble_curve(blend, members),
                               0.4 * mean + 0.6 * crf.fixed_inverse_curve("srgb")[None], atol=1e-6)
    np.testing.assert_allclose(chooser.ensemble_curve(learned, members[:1]), learned(members[0]))
