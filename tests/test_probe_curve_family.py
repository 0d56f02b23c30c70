"""tools/probe_curve_family.py: the labels and views its classifier learns from."""

import numpy as np
import tensorflow as tf
from tool_scripts import load_tool

from singlehdr_tf import crf

probe = load_tool("probe_curve_family")


def _batch(rng, inverse_curves):
    return {"ldr": tf.constant(rng.uniform(0, 1, (len(inverse_curves), 48, 40, 3)), tf.float32),
            "inverse_crf": tf.constant(np.asarray(inverse_curves, np.float32))}


def test_dorf_rows_are_labelled_zero_and_modern_encodings_one(rng):
    dorf_inverse = crf.invert_curve(crf.training_curves())
    srgb, gamma = crf.fixed_inverse_curve("srgb"), crf.fixed_inverse_curve("gamma_2.2")
    curves = [dorf_inverse[3], srgb, dorf_inverse[0], gamma]
    for view in probe.VIEWS:
        images, labels = probe.views_and_labels(_batch(rng, curves), view, 16, seed=0, dorf_inverse=dorf_inverse)
        assert images.shape == (4, 16, 16, 3)
        np.testing.assert_array_equal(labels, [0, 1, 0, 1])


def test_native_view_is_a_window_of_the_crop_and_resized_view_its_mean(rng):
    batch, dorf_inverse = _batch(rng, [crf.fixed_inverse_curve("srgb")]), crf.invert_curve(crf.training_curves())
    window, _ = probe.views_and_labels(batch, "native", 16, seed=3, dorf_inverse=dorf_inverse)
    ldr = batch["ldr"].numpy()[0]
    found = any(np.array_equal(window[0], ldr[y:y + 16, x:x + 16]) for y in range(33) for x in range(25))
    assert found
    resized, _ = probe.views_and_labels(batch, "resized", 8, seed=0, dorf_inverse=dorf_inverse)
    np.testing.assert_allclose(np.mean(resized), np.mean(ldr), rtol=1e-4)


def test_classifier_gives_one_float32_logit_per_view():
    logits = probe.family_classifier(filters=4)(np.zeros((2, 32, 32, 3), np.float32))
    assert logits.shape == (2, 1) and logits.dtype == "float32"
