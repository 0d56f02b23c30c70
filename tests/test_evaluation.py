"""Test-set writer, methods, reports and contact sheets on tiny synthetic HDR images."""

import json
import math
import pathlib

import numpy as np
import pytest
from tool_scripts import load_tool

from singlehdr_tf import camera, cli, crf, io, metrics, modern_curves
from singlehdr_tf.errors import SingleHDRError
from singlehdr_tf.evaluation import baselines, contact_sheet, methods, report, synth

REPO = pathlib.Path(__file__).resolve().parent.parent

POLE_VALUE = 1000.0


@pytest.fixture(scope="module")
def hdr_dir(tmp_path_factory):
    """A 2:1 panorama whose pole quarters hold a marker value, and a small photo."""
    rng = np.random.default_rng(7)
    folder = tmp_path_factory.mktemp("hdr")
    panorama = rng.uniform(0.01, 4.0, (64, 128, 3)).astype(np.float32)
    panorama[:16] = POLE_VALUE
    panorama[48:] = POLE_VALUE
    io.write_hdr(folder / "pano.exr", panorama)
    photo = np.exp(rng.normal(-1.0, 1.5, (40, 48, 3))).astype(np.float32)
    io.write_hdr(folder / "photo.hdr", photo)
    return folder


SET_ARGS = dict(crfs="test", clip_fractions=(0.05, 0.2), seed=3, jpeg_quality=80, crop_size=32)


@pytest.fixture(scope="module")
def test_set(hdr_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("set")
    synth.write_synth_set(hdr_dir, out, **SET_ARGS)
    return out


def test_synth_writes_every_file_and_a_manifest(test_set):
    manifest = report.load_manifest(test_set)
    assert [s["id"] for s in manifest["samples"]] == ["pano_c0", "pano_c1", "photo_c0", "photo_c1"]
    for sample in manifest["samples"]:
        for name in synth.FOLDERS:
            assert (test_set / sample["files"][name]).is_file()
        assert io.read_ldr(test_set / sample["files"]["ldr"]).shape == (32, 32, 3)
        assert sample["panorama"] == sample["source"].startswith("pano")
        # Exposure puts the target fraction of pixels above 1 (ties aside).
        assert sample["clipped_fraction"] == pytest.approx(sample["target_clipped_fraction"], abs=2 / 1024)


def test_synth_ldr_is_the_camera_applied_to_the_stored_ground_truth(test_set):
    for sample in report.load_manifest(test_set)["samples"]:
        arrays = report.load_sample(test_set, sample)
        response = crf.load_dorf()[sample["curve"]["dorf_row"]]
        assert sample["curve"]["dorf_row"] in crf.dorf_split()[1]
        np.testing.assert_allclose(arrays["inverse_crf"], crf.invert_curve(response))
        stages = camera.forward(arrays["hdr"][None], response[None])
        np.testing.assert_array_equal(np.asarray(stages.ldr[0]), arrays["ldr"])
        np.testing.assert_array_equal(arrays["clipped"], np.minimum(arrays["hdr"], 1.0))
        np.testing.assert_array_equal(arrays["nonlinear"], np.asarray(stages.nonlinear[0]))
        assert arrays["clip_mask"].mean() == sample["clipped_fraction"]


def test_synth_crops_panoramas_inside_the_middle_band(test_set):
    for sample in report.load_manifest(test_set)["samples"]:
        if sample["panorama"]:
            radiance = io.read_hdr(test_set / sample["files"]["hdr"]) / sample["exposure"]
            assert radiance.max() < 5.0  # no pixel from the pole quarters (value 1000)


def test_synth_is_reproducible(hdr_dir, test_set, tmp_path):
    synth.write_synth_set(hdr_dir, tmp_path, **SET_ARGS)
    files = sorted(p.relative_to(test_set) for p in test_set.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for name in files:
        if name.suffix == ".exr":  # OpenEXR headers carry the time of writing: compare pixels
            np.testing.assert_array_equal(io.read_hdr(tmp_path / name), io.read_hdr(test_set / name))
        else:
            assert (tmp_path / name).read_bytes() == (test_set / name).read_bytes(), name


def test_synth_clamps_the_ground_truth_to_the_half_float_range(tmp_path):
    image = np.full((32, 32, 3), 0.5, np.float32)
    image[:8] = 2.0
    image[0, 0] = 1e9  # a sun brighter than half floats reach
    (tmp_path / "in").mkdir()
    io.write_hdr(tmp_path / "in" / "sun.exr", image)
    synth.write_synth_set(tmp_path / "in", tmp_path / "out", clip_fractions=(0.1,), crop_size=32)
    hdr = io.read_hdr(tmp_path / "out" / "hdr" / "sun_c0.exr")
    assert hdr[0, 0, 0] == synth.HALF_MAX and np.all(np.isfinite(hdr))


def test_synth_with_modern_curves_renders_each_exposure_once_per_family(hdr_dir, tmp_path):
    synth.write_synth_set(hdr_dir, tmp_path, crfs="modern", clip_fractions=(0.1,), crop_size=32)
    samples = report.load_manifest(tmp_path)["samples"]
    images = len(list(hdr_dir.iterdir()))
    assert len(samples) == images * len(modern_curves.FAMILIES)
    assert [s["curve"]["family"] for s in samples[:4]] == list(modern_curves.FAMILIES)
    assert samples[0]["id"].endswith("_c0_standard") and len({s["source"] for s in samples[:4]}) == 1
    bank = crf.invert_curve(modern_curves.test_bank()[0])
    for sample in samples:  # every curve is the evaluation bank's, as the manifest says
        curve = np.load(tmp_path / sample["files"]["inverse_crf"])
        np.testing.assert_array_equal(curve, bank[_bank_row(sample["curve"])])
    train = tmp_path / "train"
    synth.write_synth_set(hdr_dir, train, crfs="modern_train", clip_fractions=(0.1,), crop_size=32)
    held_out = [np.load(train / s["files"]["inverse_crf"]) for s in report.load_manifest(train)["samples"]]
    toned = [c for c, s in zip(held_out, report.load_manifest(train)["samples"]) if s["curve"]["family"] != "standard"]
    assert all(np.abs(bank - curve).max(axis=1).min() > 0 for curve in toned)  # drawn apart from the bank


def _bank_row(curve: dict) -> int:
    return modern_curves.FAMILIES.index(curve["family"]) * modern_curves.TEST_CURVES_PER_FAMILY + curve["index"]


def test_report_breaks_the_modern_set_down_by_family(hdr_dir, tmp_path):
    synth.write_synth_set(hdr_dir, tmp_path / "set", crfs="modern", clip_fractions=(0.1,), crop_size=32)
    result = report.evaluate(tmp_path / "set", methods.build_methods([], "gamma_2.2,srgb"), tmp_path / "out")
    assert list(result["by_family"]) == sorted(modern_curves.FAMILIES)
    standard = result["by_family"]["standard"]["srgb"]["pu21_psnr"]
    assert standard["n"] == len(list(hdr_dir.iterdir()))
    text = (tmp_path / "out" / "report.md").read_text()
    assert "PU21-PSNR (dB) ↑ by curve family" in text
    assert "| method | filmic | filmic_s_curve | s_curve | standard |" in text  # families are columns


def test_synth_can_render_only_the_dorf_curves_a_run_left_out(hdr_dir, tmp_path):
    synth.write_synth_set(hdr_dir, tmp_path, crfs="train", clip_fractions=(0.1, 0.2), crop_size=32,
                          held_out_dorf_curves=15)
    manifest = report.load_manifest(tmp_path)
    assert manifest["held_out_dorf_curves"] == 15
    rows = {sample["curve"]["dorf_row"] for sample in manifest["samples"]}
    assert rows <= set(crf.dorf_holdout(15)[1].tolist())
    with pytest.raises(SingleHDRError, match="--crfs train only"):
        synth.write_synth_set(hdr_dir, tmp_path / "other", crfs="test", held_out_dorf_curves=15)


def test_synth_rejects_bad_settings(hdr_dir, tmp_path):
    with pytest.raises(SingleHDRError, match="clip fractions"):
        synth.write_synth_set(hdr_dir, tmp_path, clip_fractions=(0.0,))
    with pytest.raises(SingleHDRError, match="unknown curve set"):
        synth.write_synth_set(hdr_dir, tmp_path, crfs="nope")
    with pytest.raises(SingleHDRError, match="no HDR images"):
        synth.write_synth_set(tmp_path, tmp_path / "out")


def test_exposure_for_clipped_fraction():
    hdr = np.arange(1.0, 101.0).reshape(10, 10, 1).repeat(3, axis=-1)
    exposure = synth.exposure_for_clipped_fraction(hdr, 0.1)
    assert np.mean(np.max(hdr * exposure, axis=-1) > 1.0) == pytest.approx(0.1)
    with pytest.raises(SingleHDRError, match="black"):
        synth.exposure_for_clipped_fraction(np.zeros((2, 2, 3)), 0.1)


TINY = "singlehdr:tiny-untrained"


@pytest.fixture(scope="module")
def with_model():
    """An untrained tiny model (by config name) and two baselines."""
    return methods.build_methods(["tiny"], "srgb,oracle")


def test_build_methods_parses_baselines_and_models(with_model):
    assert list(methods.build_methods([], "all")) == list(baselines.BASELINES)
    assert list(with_model) == [TINY, f"{TINY} (no dequantization)", f"{TINY} (no refinement)",
                                f"{TINY} (no hallucination)", "srgb", "oracle"]
    with pytest.raises(SingleHDRError, match="unknown"):
        methods.build_methods([], "srgb,nope")
    with pytest.raises(SingleHDRError, match="nothing to evaluate"):
        methods.build_methods([], "")
    with pytest.raises(SingleHDRError, match="no/such/model.keras"):
        methods.build_methods(["no/such/model.keras"], "")


def test_model_method_returns_the_stages(with_model, rng):
    outputs = methods.run_method(with_model[TINY], rng.random((40, 36, 3), dtype=np.float32))
    assert outputs["hdr"].shape == outputs["dequantized"].shape == outputs["linear"].shape == (40, 36, 3)
    assert outputs["inverse_crf"].shape == (crf.CURVE_SAMPLES,)


def test_the_model_cut_after_linearization_returns_its_linear_stage(with_model, rng):
    image = rng.random((40, 36, 3), dtype=np.float32)
    cut = methods.run_method(with_model[f"{TINY} (no hallucination)"], image)
    assert list(cut) == ["hdr"]
    np.testing.assert_array_equal(cut["hdr"], methods.run_method(with_model[TINY], image)["linear"])


def test_the_model_without_dequantization_linearizes_the_input_itself(with_model, rng):
    image = np.round(rng.random((40, 36, 3)) * 255).astype(np.float32) / 255
    full = methods.run_method(with_model[TINY], image)
    outputs = methods.run_method(with_model[f"{TINY} (no dequantization)"], image)
    assert "dequantized" not in outputs and not np.array_equal(full["dequantized"], image)
    np.testing.assert_allclose(outputs["linear"], crf.apply_curve(image[None], outputs["inverse_crf"][None])[0], atol=1e-6)


def test_run_method_gives_the_oracle_the_true_curve(rng):
    ldr = rng.random((8, 8, 3), dtype=np.float32)
    curve = crf.invert_curve(crf.test_curves()[0])
    outputs = methods.run_method(baselines.oracle, ldr, curve)
    np.testing.assert_array_equal(outputs["inverse_crf"], curve)
    assert outputs["linear"] is outputs["hdr"]
    with pytest.raises(SingleHDRError, match="oracle"):
        methods.run_method(baselines.oracle, ldr)


def staged_method(ldr):
    """A fake model: exact curve-free output with every stage (dequantized = the input)."""
    return {"hdr": ldr**2.2, "inverse_crf": crf.gamma_curve(1 / 2.2), "dequantized": ldr, "linear": ldr**2.2}


def test_evaluate_writes_reports_with_every_metric(test_set, tmp_path):
    chosen = {
        "staged": staged_method,
        "gamma_2.2": baselines.inverse_gamma,
        "oracle": baselines.oracle,
        "huo14": baselines.huo14,
    }
    result = report.evaluate(test_set, chosen, tmp_path)
    saved = json.loads((tmp_path / "report.json").read_text())  # strict JSON: no NaN
    assert saved == json.loads(json.dumps(result))
    assert saved["samples"] == 4
    assert list(saved["methods"]) == list(chosen)
    oracle = saved["methods"]["oracle"]
    assert oracle["curve_error"]["mean"] == pytest.approx(0.0, abs=1e-10)
    assert oracle["pu21_psnr"]["n"] == 4
    assert "curve_error" not in saved["methods"]["huo14"]
    # The fake model's dequantized image is the input: both ablation rows agree.
    dequantization = saved["ablation"]["dequantization_psnr"]
    assert dequantization["staged"]["mean"] == pytest.approx(dequantization["input (no dequantization)"]["mean"])
    assert set(saved["ablation"]["linearization"]) == {"staged", "gamma_2.2", "oracle"}
    # The staged method and the gamma baseline are the same reconstruction.
    for key in ("pu21_psnr", "mu_psnr", "log_rmse"):
        assert saved["methods"]["staged"][key]["mean"] == pytest.approx(
            saved["methods"]["gamma_2.2"][key]["mean"], rel=1e-5
        )
    assert saved["contact_sheet"]["columns"] == ["input", "gamma_2.2", "huo14", "staged", "ground truth"]
    sheet = io.read_ldr(tmp_path / "contact_sheet.png")
    assert sheet.shape[0] > 2 * contact_sheet.THUMBNAIL_HEIGHT  # one row per source image
    text = (tmp_path / "report.md").read_text()
    assert "| oracle |" in text and "Tables 2-3" in text and "PU21-PSNR" in text
    per_sample = saved["per_sample"]["pano_c0"]
    assert math.isfinite(per_sample["input_psnr"]) and "scale" in per_sample["oracle"]


def test_evaluate_a_model_reports_its_stages(with_model, test_set, tmp_path):
    result = report.evaluate(test_set, with_model, tmp_path)
    assert result["methods"][TINY]["pu21_psnr"]["n"] == 4
    assert TINY in result["ablation"]["dequantization_psnr"] and TINY in result["ablation"]["linearization"]
    assert result["contact_sheet"]["columns"] == ["input", "srgb", TINY, "ground truth"]


def test_evaluate_jpeg_inputs_and_bad_arguments(test_set, tmp_path):
    result = report.evaluate(test_set, {"srgb": baselines.inverse_srgb}, tmp_path, input_kind="jpeg")
    assert result["input"] == "jpeg"
    with pytest.raises(SingleHDRError, match="input kind"):
        report.evaluate(test_set, {"srgb": baselines.inverse_srgb}, tmp_path, input_kind="raw")
    with pytest.raises(SingleHDRError, match="manifest"):
        report.evaluate(tmp_path, {"srgb": baselines.inverse_srgb}, tmp_path)


def test_synth_and_evaluate_commands(hdr_dir, tmp_path, capsys):
    assert cli.main(["synth", str(hdr_dir), str(tmp_path / "set"), "--crop-size", "24", "--clip-fractions", "0.1"]) == 0
    arguments = ["evaluate", "--data", str(tmp_path / "set"), "--baselines", "srgb,oracle", "--out"]
    assert cli.main([*arguments, str(tmp_path / "report")]) == cli.EXIT_OK
    assert (tmp_path / "report" / "report.md").is_file()
    assert cli.main(["evaluate", "--data", str(tmp_path / "missing"), "--baselines", "srgb", "--out",
                     str(tmp_path / "r")]) == cli.EXIT_USAGE
    assert "no test-set manifest" in capsys.readouterr().err


def test_real_sheet_shows_input_and_each_method(tmp_path, rng):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.png", "b.jpg"):
        io.write_ldr(photos / name, (rng.random((40, 60, 3)) * 255).astype(np.uint8))
    out = tmp_path / "sheet.png"
    assert cli.main(["sheet", str(photos), str(out), "--baselines", "srgb,kovaleski14", "--max-side", "30"]) == 0
    sheet = io.read_ldr(out)
    height = contact_sheet.THUMBNAIL_HEIGHT
    width = round(60 * height / 40)
    gap, label = contact_sheet.GAP, contact_sheet.LABEL_HEIGHT
    assert sheet.shape == (label + 2 * height + 3 * gap, 3 * width + 4 * gap, 3)


def test_compose_rejects_an_empty_sheet(tmp_path):
    with pytest.raises(SingleHDRError, match="no rows"):
        contact_sheet.compose([], [], tmp_path / "x.png")


def test_sheet_tone_maps_a_row_alike(rng):
    # io.tonemap with a reference takes its exposure from the reference (added for contact sheets).
    truth = rng.uniform(0.01, 4.0, (8, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(io.tonemap(truth, reference=truth), io.tonemap(truth))
    darker = io.tonemap(0.25 * truth, reference=truth).astype(int)
    assert np.all(darker <= io.tonemap(truth).astype(int)) and darker.mean() < io.tonemap(truth).mean() - 10
    # Without a reference the exposure is the image's own, so the scale would be lost.
    np.testing.assert_allclose(io.tonemap(0.25 * truth).astype(int), io.tonemap(truth).astype(int), atol=1)


def test_log_error_by_level_partitions_every_pixel(test_set):
    tool = load_tool("log_error_by_level")
    result = tool.breakdown([test_set], {"srgb": baselines.BASELINES["srgb"]})["srgb"]
    levels = result["levels"].values()
    assert sum(level["values"] for level in levels) == 4 * 32 * 32 * 3  # 4 samples of 32x32 RGB
    pooled = sum(level["rms"] ** 2 * level["values"] for level in levels if level["values"])
    errors = []
    for entry in report.load_manifest(test_set)["samples"]:
        sample = report.load_sample(test_set, entry)
        hdr, _ = metrics.align_scale(baselines.BASELINES["srgb"](sample["ldr"])[0], sample["hdr"], sample["ldr"])
        errors.append(metrics.log_rmse(hdr, sample["hdr"]))
    assert result["samples"] == 4 and result["log_rmse"] == pytest.approx(np.mean(errors))
    assert pooled / (4 * 32 * 32 * 3) == pytest.approx(np.mean(np.square(errors)), rel=1e-6)
