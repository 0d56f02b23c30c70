"""Tests of tools/bench_infer.py on the tiny model: planning, the in-process and subprocess
measurements, and the Markdown report."""

import pathlib

import keras
import numpy as np
import pytest
from tool_scripts import load_tool

from singlehdr_tf import SingleHDRError, models

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    return load_tool("bench_infer")


@pytest.fixture(scope="module")
def artifacts(bench, tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = models.build_model("tiny")
    return bench.write_artifacts(model, ["keras", "tflite_float32"], tmp_path_factory.mktemp("bench"))


def test_image_shape_is_4_by_3_with_the_asked_area(bench):
    assert bench.image_shape(12) == (3000, 4000)
    for megapixels in (0.25, 1, 4, 24):
        height, width = bench.image_shape(megapixels)
        assert abs(height * width / 1e6 - megapixels) / megapixels < 2e-3
        assert abs(width / height - 4 / 3) < 2e-3
    assert bench.image_shape(1e-6) == (32, 32)


def test_synthetic_photo_is_uint8_with_a_clipped_patch(bench):
    photo = bench.synthetic_photo(40, 60)
    assert photo.shape == (40, 60, 3) and photo.dtype == np.uint8
    assert (photo[:10, :15] == 255).all() and photo.min() < 50


def test_plan_skips_whole_image_backends_above_the_limit(bench):
    cases = bench.plan([1, 12, 24], list(bench.BACKENDS), whole_image_max_mp=4)
    assert [(case["backend"], case["megapixels"]) for case in cases][:len(bench.BACKENDS)] == [(b, 1) for b in bench.BACKENDS]
    run = [(case["backend"], case["megapixels"]) for case in cases if "skipped" not in case]
    assert run == [(b, 1) for b in bench.BACKENDS] + [(b, m) for m in (12, 24) for b in ("keras", "keras_bfloat16")]
    assert all("4 MP" in case["skipped"] for case in cases if "skipped" in case)


def test_skipped_cases_get_a_memory_projection_from_the_largest_measured_size(bench):
    cases = bench.plan([1, 4, 12], ["tflite_float32"], whole_image_max_mp=4)
    cases[0].update(loaded_rss_mb=100, peak_rss_mb=1100)
    cases[1].update(loaded_rss_mb=100, peak_rss_mb=4100)
    bench.project_skipped_memory(cases)
    assert cases[2]["projected_peak_rss_gb"] == round((100 + 1000 * 12) / 1024, 1)
    assert "projected_peak_rss_gb" not in cases[1]


def test_resolve_model_builds_an_untrained_config_and_refuses_unknown_names(bench):
    model, description, untrained = bench.resolve_model("tiny")
    assert isinstance(model, models.SingleHDR) and untrained and "untrained" in description
    with pytest.raises(SingleHDRError):
        bench.resolve_model("no-such-model")


def test_artifacts_are_the_saved_model_and_the_asked_tflite_files(artifacts):
    assert sorted(artifacts) == ["saved_model", "tflite_float32"]
    assert (pathlib.Path(artifacts["saved_model"]) / "saved_model.pb").is_file()
    assert pathlib.Path(artifacts["tflite_float32"]).stat().st_size > 0


@pytest.mark.parametrize("backend", ["reference", "keras", "keras_bfloat16", "saved_model"])
def test_run_case_in_process(bench, artifacts, backend):
    result = bench.run_case(backend, artifacts, 48, 64, repeats=2, threads=1)
    assert len(result["latencies_s"]) == 2 and result["median_s"] > 0 and result["first_call_s"] > 0
    assert result["peak_rss_mb"] >= result["loaded_rss_mb"] > 0
    assert result["device"] in ("CPU", ) or result["device"].startswith("GPU")


def test_spawned_tflite_case_reports_its_own_process(bench, artifacts, tmp_path):
    result = bench.spawn({"kind": "case", "backend": "tflite_float32", "artifacts": artifacts, "height": 48,
                          "width": 64, "repeats": 1, "threads": 1}, tmp_path, env=None, timeout=300)
    assert "error" not in result, result
    assert result["device"] == "CPU (LiteRT, 1 threads)" and len(result["latencies_s"]) == 1
    assert result["xnnpack_partitions"] >= 1 and result["new_size_s"] > 0
    # The child's own peak: LiteRT without TensorFlow, far below this process (TensorFlow, models),
    # whose memory a forked child's ru_maxrss would inherit.
    assert 0 < result["loaded_rss_mb"] <= result["peak_rss_mb"] < bench.peak_rss_mb() / 2


def test_spawn_reports_a_failing_child(bench, tmp_path):
    result = bench.spawn({"kind": "case", "backend": "tflite_float32", "artifacts": {"tflite_float32": "/nonexistent"},
                          "height": 48, "width": 64, "repeats": 1, "threads": 1}, tmp_path, env=None, timeout=300)
    assert result["error"].startswith("exit status 1")


def test_every_measured_case_gets_its_ratio_to_the_reference_at_the_same_size(bench):
    cases = [{"backend": "reference", "megapixels": 1, "median_s": 0.5},
             {"backend": "keras", "megapixels": 1, "median_s": 0.8},
             {"backend": "keras", "megapixels": 12, "median_s": 9.0},
             {"backend": "saved_model", "megapixels": 1, "error": "exit status 1"}]
    bench.add_reference_ratios(cases)
    assert [case.get("ratio_to_reference") for case in cases] == [1.0, 1.6, None, None]


def test_tflite_cases_also_get_their_ratio_to_the_reference_in_litert(bench):
    cases = [{"backend": "reference", "megapixels": 1, "median_s": 0.5},
             {"backend": "tflite_reference", "megapixels": 1, "median_s": 0.8},
             {"backend": "tflite_float32", "megapixels": 1, "median_s": 0.6},
             {"backend": "keras", "megapixels": 1, "median_s": 0.4}]
    bench.add_reference_ratios(cases)
    assert [case.get("ratio_to_reference") for case in cases] == [1.0, 1.6, 1.2, 0.8]
    assert [case.get("ratio_to_tflite_reference") for case in cases] == [None, 1.0, 0.75, None]


def test_reference_network_converts_with_the_models_signature(bench, tmp_path):
    artifacts = bench.write_artifacts(models.build_model("tiny"), ["tflite_reference"], tmp_path)
    result = bench.run_case("tflite_reference", artifacts, 48, 64, repeats=1, threads=1)
    assert result["median_s"] > 0 and result["xnnpack_partitions"] == 1


def test_markdown_lists_runs_skips_failures_and_the_memory_target(bench):
    report = {
        "model": "lite (untrained)", "untrained": True, "params": 3180357, "date": "2026-01-01", "repeats": 5,
        "machine": {"cpu": "Some CPU", "cpus": 2, "memory_gb": 23.0, "gpu": None, "tensorflow": "2.21",
                    "litert": "2.3.0"},
        "matmul_peak_gflops": {"cpu": 200.0},
        "cases": [
            {"backend": "keras", "megapixels": 24, "width": 5657, "height": 4243, "device": "CPU", "median_s": 40.0,
             "first_call_s": 45.0, "peak_rss_mb": 3072, "ratio_to_reference": 1.5, "gflop": 2227.0, "gflop_per_s": 55.7, "percent_of_peak": 27.8},
            {"backend": "tflite_float16", "megapixels": 24, "width": 5657, "height": 4243, "gflop": 2227.0,
             "skipped": "whole image above 4 MP", "projected_peak_rss_gb": 45.5},
            {"backend": "saved_model", "megapixels": 24, "width": 5657, "height": 4243, "gflop": 2227.0,
             "error": "killed by signal 9 (out of memory?)"},
        ],
        "memory_target": {"megapixels": 24, "backend": "keras", "limit_gb": 6.0, "peak_rss_gb": 3.0, "met": True},
    }
    text = bench.markdown(report)
    assert "untrained" in text and "CPU 200 GFLOP/s" in text
    assert "| keras | 24 | 5657x4243 | CPU | 40.00 | 1.50 | – | 45.00 | – |  | 3.00 | 2227.0 | 55.7 | 27.8 |" in text
    assert "| tflite_float16 | 24 | 5657x4243 | skipped [1] | | | | | | | ~45.5 projected | 2227.0 |" in text
    assert "[1] whole image above 4 MP" in text
    assert "failed [2]" in text and "[2] killed by signal 9" in text
    assert "under 6 GB peak RSS (keras): met, 3.00 GB" in text
