"""tools/choose_stage_settings.py: the stage combinations it measures."""

from singlehdr_tf import models
from tool_scripts import load_tool

chooser = load_tool("choose_stage_settings")


def test_every_step_is_measured_with_and_without_the_refinement_net(tiny_model):
    variants = chooser.variants(tiny_model)
    assert sorted(variants.values()) == sorted((step, on) for step in chooser.CANDIDATE_STEPS for on in (True, False))


def test_a_model_without_refinement_weights_is_measured_with_it_off_only(tiny_model):
    without = models.rebuild_model(tiny_model, use_refinement=False)
    variants = chooser.variants(without)
    assert sorted(variants.values()) == [(step, False) for step in sorted(chooser.CANDIDATE_STEPS)]
    assert all(name.endswith("refinement off") for name in variants)
