"""Write ``saved_models/MODEL_CARD.md`` from the files that hold the facts, so no number in it is
typed by hand: the training config and logs (``release/logs/``), the chosen curve shrinkage and
stage settings, the evaluation reports (``release/reports/val_modern/report.json``: modern camera
encodings; ``release/reports/val/report.json``: DoRF test curves), the model sizes
(``release/benchmarks/models.json``) and the sha256 of every shipped file. The README's results tables
(between the ``<!-- results -->`` markers) are rewritten from the same reports.

    python tools/write_model_card.py [--name lite]
"""

from __future__ import annotations

import argparse
import json
import pathlib

import yaml

from singlehdr_tf.evaluation.baselines import FIXED_CURVES
from singlehdr_tf.io import atomic_write
from singlehdr_tf.loading import file_sha256
from singlehdr_tf.models.presets import PRESETS

REPO = pathlib.Path(__file__).resolve().parent.parent
LOGS = REPO / "release" / "logs"
HDR_COLUMNS = (
    ("pu21_psnr", "PU21-PSNR (dB) ↑", 2),
    ("log_rmse", "log RMSE (stops) ↓", 3),
    ("log_rmse_clipped", "log RMSE clipped (stops) ↓", 3),
    ("mu_psnr", "μ-PSNR (dB) ↑", 2),
    ("ssim_mu", "SSIM-μ ↑", 3),
    ("curve_error", "inverse-CRF L2 ↓", 5),
    ("chroma_error_clipped", "chroma error clipped (°) ↓", 1),
)
FAMILY_COLUMNS = (("pu21_psnr", "PU21 dB", 2), ("log_rmse", "stops", 3), ("curve_error", "curve L2", 5))
REPORTS = {"modern": "release/reports/val_modern", "dorf": "release/reports/val"}
"""The two validation reports: modern camera encodings and the DoRF test curves."""


def shipped_files(name: str) -> list[pathlib.Path]:
    """Every file of the shipped model ``name`` (SavedModel folder and TFLite files), sorted."""
    root = REPO / "saved_models"
    files = [path for path in sorted((root / name).rglob("*")) if path.is_file()]
    return files + sorted(root.glob(f"{name}*.tflite"))


def cell(stats: dict | None, digits: int) -> str:
    if not stats or stats.get("mean") is None:
        return "–"
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def results_table(report: dict) -> str:
    """The HDR-quality table of an evaluation report, models first."""
    lines = ["| method | " + " | ".join(title for _, title, _ in HDR_COLUMNS) + " |",
             "|---" * (len(HDR_COLUMNS) + 1) + "|"]
    for method, scores in report["methods"].items():
        lines.append(f"| {method} | " + " | ".join(cell(scores.get(key), digits) for key, _, digits in HDR_COLUMNS)
                     + " |")
    return "\n".join(lines)


def family_table(report: dict) -> str:
    """PU21-PSNR, stops and curve L2 by curve family (rows: methods, columns: family x metric)."""
    families = list(report["by_family"])
    lines = ["| method | " + " | ".join(f"{family}: {title}" for family in families for _, title, _ in FAMILY_COLUMNS)
             + " |", "|---" * (len(families) * len(FAMILY_COLUMNS) + 1) + "|"]
    for method in report["methods"]:
        cells = [cell(report["by_family"][family][method].get(key), digits).split(" ± ")[0]
                 for family in families for key, _, digits in FAMILY_COLUMNS]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_reports() -> dict[str, dict]:
    return {kind: json.loads((REPO / folder / "report.json").read_text()) for kind, folder in REPORTS.items()}


def ablation_table(report: dict) -> str:
    """Dequantization and linearization ablation of the report (Liu et al. 2020, Tables 2-3)."""
    lines = ["| stage check | value |", "|---|---|"]
    for name, stats in report["ablation"]["dequantization_psnr"].items():
        lines.append(f"| dequantized PSNR vs F(C(H)), {name} | {cell(stats, 2)} dB |")
    for name, stats in report["ablation"]["linearization"].items():
        lines.append(f"| linear PSNR vs C(H), {name} | {cell(stats['linear_psnr'], 2)} dB "
                     f"(curve L2 {cell(stats['curve_error'], 5)}) |")
    return "\n".join(lines)


def run_section(run: str, config_file: str) -> tuple[str, int, float]:
    """``(markdown, steps, hours)`` of one training run of the preset (:attr:`Preset.training_runs`): why it was run
    (the config file's leading comment), its settings and a table of its stages, from
    ``release/logs/<run>/``."""
    config = yaml.safe_load((LOGS / run / "config.yaml").read_text())
    metrics = [json.loads(line) for line in (LOGS / run / "metrics.jsonl").read_text().splitlines()]
    steps = metrics[-1]["step"]
    hours = (metrics[-1]["time"] - metrics[0]["time"]) / 3600
    comment = []
    for line in (REPO / config_file).read_text().splitlines():
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("# "))
    description = " ".join(comment)
    rows = "\n".join(
        f"| {stage['stage']} | {stage['steps']} | {stage.get('learning_rate') or config['learning_rate']['initial']} |"
        for stage in config["stages"])
    start = f"from `{config['init_from']}`" if config.get("init_from") else "from scratch"
    fresh = f" (fresh: {', '.join(config['reinitialize'])})" if config.get("reinitialize") else ""
    text = f"""### `{config_file}`: {steps} steps {start}{fresh}, {hours:.1f} h
{description}

Batch {config['batch_size']}, {config['data'].get('crop_size', 256)}² crops, Adam,
{config['learning_rate']['schedule']} schedule, seed {config['seed']}. Logs in `release/logs/{run}/`: `config.yaml`,
`metrics.jsonl` (losses, speed), `validation.jsonl` (inverse-curve error on the held-out scenes next
to `g0` and gamma 2.2).

| stage | steps | peak learning rate |
|---|---|---|
{rows}
"""
    return text, steps, hours


def fixed_curves_ahead(report: dict, name: str) -> str:
    """The fixed-curve baselines with a higher PU21 or a lower log error than the model in ``report``."""
    model = report["methods"][f"singlehdr:{name}"]
    ahead = []
    for baseline in FIXED_CURVES:
        scores = report["methods"].get(baseline)
        if scores and (scores["pu21_psnr"]["mean"] > model["pu21_psnr"]["mean"]
                       or scores["log_rmse"]["mean"] < model["log_rmse"]["mean"]):
            ahead.append(f"`{baseline}` ({scores['pu21_psnr']['mean']:.2f} dB, {scores['log_rmse']['mean']:.3f} stops "
                         f"against {model['pu21_psnr']['mean']:.2f} dB, {model['log_rmse']['mean']:.3f} stops)")
    return ", ".join(ahead) or "none"


def card(name: str, reports: dict[str, dict]) -> str:
    shrinkage = json.loads((LOGS / "curve_shrinkage.json").read_text())
    stages = json.loads((LOGS / "stage_settings.json").read_text())
    sizes = json.loads((REPO / "release" / "benchmarks" / "models.json").read_text())["configs"][name]
    runs = [run_section(run, config_file) for run, config_file in PRESETS[name].training_runs]
    steps, hours = sum(run[1] for run in runs), sum(run[2] for run in runs)
    run_sections = "\n".join(run[0] for run in runs)
    files = "\n".join(
        f"| `{path.relative_to(REPO / 'saved_models')}` | {path.stat().st_size / 1e6:.2f} MB | `{file_sha256(path)}` |"
        for path in shipped_files(name))
    chosen = shrinkage["chosen_curve"]
    # Written by choose_curve_shrinkage since runs can leave DoRF curves out; before, always the split.
    dorf_curves = shrinkage.get("dorf_curves", "the training split, seen in training (the run left none out)")
    ratios = shrinkage["ratio_to_best_fixed"]
    members = PRESETS[name].settings.get("linearization_ensemble_size", 1)
    member_runs = ", ".join(f"`{run}`" for run, _ in PRESETS[name].training_runs[-members:])
    ensemble = ("" if members == 1 else
                f"The Linearization-Net averages the inverse curves of **{members} estimators** of one architecture "
                f"trained apart from different seeds (`linearization_ensemble_size`: those of the runs {member_runs}, "
                f"put together by `tools/assemble_ensemble.py`): estimators trained apart err on different photos, "
                f"and on DoRF curves none of them saw the mean of three scored better than each alone "
                f"(`release/logs/experiments/curve_ensemble/`). ")
    ratio_text = (f"{ratios['modern']:.3f}x the best fixed curve's on modern encodings and {ratios['dorf_train']:.3f}x "
                  "on the DoRF curves")
    if shrinkage["fixed_curve"]:
        curve_decision = (f"No blend beats the best fixed curve on modern encodings with 95 % confidence, so the "
                          f"learned curve does not ship switched on: **every photo gets the fixed "
                          f"`{shrinkage['fixed_curve']}` inverse curve** (`fixed_curve`; its log error is "
                          f"{ratio_text}), and the Linearization-Net's weights are kept but not run.")
    else:
        share = shrinkage.get("shrink_toward_share", 1.0)  # absent in choices made before mixed fallbacks
        toward = (f"`{shrinkage['shrink_toward'] or 'g0'}`" if share == 1.0
                  else f"{share} · `{shrinkage['shrink_toward']}` + {1 - share} · `g0`")
        curve_decision = (f"**Shipped with s = {shrinkage['chosen_shrinkage']} toward {toward}** (`curve_shrinkage`, "
                          f"`curve_shrink_toward`, `curve_shrink_toward_share`): its log error is {ratio_text}.")
    shrinkage_rows = "\n".join(
        f"| {curves} ({shrinkage[curves]['samples']} crops), {metric} | "
        + " | ".join(f"{shrinkage[curves][key][curve]:{digits}}"
                     for curve in ("learned", chosen, "g0@0.0", "gamma_2_2@0.0", "srgb@0.0", "dorf_mean@0.0",
                                   "square@0.0"))
        + " |"
        for curves in ("modern", "dorf_train")
        for metric, key, digits in (("stops", "stops", ".3f"), ("curve L2", "curve_l2", ".5f")))
    stage_rows = "\n".join(
        f"| {variant} | " + " | ".join(f"{scores[variant]['pu21_psnr']:.2f} dB, {scores[variant]['log_rmse']:.3f}"
                                       for scores in stages["by_set"].values()) + " |"
        for variant in stages["mean_log_rmse"])
    set_names = " | ".join(pathlib.Path(path).name for path in stages["by_set"])
    held_out = ", ".join(shrinkage["held_out_files"])
    modern, dorf = reports["modern"], reports["dorf"]
    return f"""# Model card: `{name}`

Single-image HDR reconstruction by reversing the camera pipeline (Liu, Lai et al., CVPR 2020),
the `{name}` configuration of singlehdr_tf: {sizes['params'] / 1e6:.2f}M parameters,
{sizes['gflops_per_megapixel']:.1f} GFLOP per megapixel (`release/benchmarks/models.json`). Input: one 8-bit
photo; output: linear HDR (1 = the camera's clipping level, defined up to scale), the inverse camera
curve, the dequantized and linear images. Generated by `python tools/write_model_card.py`.

## Training
- **Data:** `../shared/data/hdr/train` (51 real HDR images: 41 Poly Haven panoramas, 9 OpenEXR
  sample photographs, 1 HDR photograph by Rafał Mantiuk), of which {len(shrinkage['held_out_files'])}
  were held out of training for every release choice ({held_out}). Training pairs made by
  `singlehdr_tf.data`. The runs for modern cameras draw 60 % (the last three: 70 %) of their curves
  from the bank of modern encodings (`singlehdr_tf.modern_curves`: sRGB, Rec.709 and gammas 1.8-2.6
  under S-curves and Reinhard / Hable / ACES highlight roll-offs) and the rest from the 191 DoRF
  training curves (the last three add 80 procedural dead-leaves scenes, `data/procedural.py`), with
  sensor noise before clipping, JPEG (quality 70-100), the Linearization-Net fed the dequantized input,
  each crop through 4 curves in a batch, and no contrast power. The 10 DoRF
  test curves, the modern evaluation bank (`modern_curves.test_bank`) and `hdr/val` were never
  trained on. Not the reference paper's data or weights.
- **Curve basis:** the Linearization-Net predicts 11 weights in the `camera_log` basis
  (`crf.CURVE_BASES`): the log-domain mean and principal components of the inverse curves of the
  DoRF training split and 2000 modern draws, each set weighing half (`tools/fit_curve_basis.py`,
  `release/benchmarks/curve_basis.json`), instead of the DoRF-only inverse-EMoR model.
- **Runs**, in order, each from the weights it names ({steps} steps in all, {hours:.1f} h of
  logged training on a 2-core CPU; perceptual term off: no VGG16 ImageNet weights can be downloaded
  here). Runs measured and not shipped, with the reason, are in `release/logs/experiments/`.

{run_sections}
## Camera curve
{ensemble}The learned curve is blended with a fallback curve `f` (the basis prior `g0`, gamma 2.2, inverse
sRGB, or a mix `t · sRGB⁻¹ + (1 − t) · g0` of the best fixed fallbacks of the two curve sets):
`g = s · P(g0 + w @ H) + (1 − s) · f`, `f` and `s` chosen on the held-out training scenes with
training curves (`tools/choose_curve_shrinkage.py`, `release/logs/curve_shrinkage.json`; log error of
the linearized image in stops, unclipped pixels): a blend ships only where it beats every fixed curve
(these three, the evaluation's mean DoRF curve and x²) on modern encodings with 95 % confidence
(paired bootstrap over the crops), and of those the one whose error relative to the best fixed
curve's is smallest on the set where it does worst. `g0` is the prior of the basis' curve bank
(`crf.fit_curve_basis`). The DoRF curves here are {dorf_curves}. {curve_decision}

| curves | network (s = 1) | chosen (`{chosen}`) | `g0` | gamma 2.2 | inverse sRGB | mean DoRF | x² |
|---|---|---|---|---|---|---|---|
{shrinkage_rows}

## Stages switched on
Every stage must help on held-out training scenes (`tools/choose_stage_settings.py`,
`release/logs/stage_settings.json`; PU21-PSNR and log RMSE in stops per set, the choice by the
lowest log RMSE averaged over the sets): **{stages['chosen']}**.

| variant | {set_names} |
|---{"|---" * len(stages["by_set"])}|
{stage_rows}

## Evaluation
HDR-SYNTH sets from `../shared/data/hdr/val` (never trained on): 11 scenes × 3 exposures (3 %, 8 %,
20 % of the pixels clipped), PNG input; {modern['samples']} samples with the modern evaluation bank
(each exposure once per curve family; `singlehdr synth ../shared/data/hdr/val sets/val_modern --crfs modern`)
and {dorf['samples']} with the 10 held-out DoRF curves (`singlehdr synth ../shared/data/hdr/val sets/val`),
then `singlehdr evaluate --data SET --model {name} --baselines all --out REPORT`; the whole release
is `tools/release_lite.sh`. {modern['alignment']} Mean ± standard deviation over samples.

### Modern camera encodings (`release/reports/val_modern/`)
{results_table(modern)}

By curve family (means):

{family_table(modern)}

### DoRF test curves (`release/reports/val/`)
{results_table(dorf)}

"(no dequantization)" is the same model with the Dequantization-Net's step held to 0, and
"(no hallucination)" the model cut after linearization: their differences to the full model are
what dequantization and the Hallucination-Net add. Stage checks (modern set):

{ablation_table(modern)}

Real photos (no ground truth): `release/reports/real_photos.png`; synthetic sets:
`release/reports/val_modern/contact_sheet.png`, `release/reports/val/contact_sheet.png`.

## Files
The TFLite files: float32, float16 weights, and dynamic range (int8 weights, not committed to the
repository; `singlehdr export` writes it), which keeps the curve estimator in float32
(`export.FLOAT_IN_DYNAMIC_RANGE`: quantized, it moved the estimated curve; accuracy of each in
`release/benchmarks/precision_quality.md`).

| file | size | sha256 |
|---|---|---|
{files}

## Limits
- Fixed curves that still score better than the shipped model on a validation set (PU21 or
  stops; none listed: it beats every fixed curve there): modern set: {fixed_curves_ahead(modern, name)};
  DoRF set: {fixed_curves_ahead(dorf, name)}. The Linearization-Net did not learn, from about 45
  scenes, to tell a modern encoding from a film-era curve (a linear probe of its curve weights
  separates the two on 58 % of held-out crops): at best it refines a fixed curve a little
  (above), and no curve beats `g0` on DoRF curves and inverse sRGB on modern ones at once.
- Trained on about 50 scenes for a few thousand steps on a CPU: far less than the paper (HDR-SYNTH,
  hundreds of thousands of steps on GPUs). Expect the hallucinated highlights to be plausible in
  brightness, not in detail.
- Camera curves are estimated from image statistics, which cannot fully tell a curve from the
  scene's own brightness and contrast; curves outside DoRF and the modern bank (strong local tone
  mapping of phone cameras, HDR+ style processing) are outside what it saw.
- The hallucinated light has the hue the pixel recorded (neutral where all channels clipped): a
  clipped coloured light source comes back with the colour of its unclipped rim, not its own.
- The perceptual loss was off (no ImageNet VGG16 weights are reachable here).
- Output is linear and relative: multiply by a scale to get absolute radiance.
"""


def update_readme(name: str, reports: dict[str, dict]) -> None:
    """Replace the README's results tables with those of the two validation reports."""
    readme = REPO / "README.md"
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    text = readme.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{readme}: no {start} ... {end} block to update")
    modern, dorf = reports["modern"], reports["dorf"]
    table = (f"{modern['samples']} samples of `../shared/data/hdr/val` (never trained on) through the modern "
             f"evaluation bank (sRGB, Rec.709, gammas, S-curves, filmic roll-offs; never trained on), the "
             f"shipped `{name}` model against every fixed curve, classical method and the oracle curve:\n\n"
             f"{results_table(modern)}\n\nBy curve family (means):\n\n{family_table(modern)}\n\n"
             f"{dorf['samples']} samples of the same scenes with the 10 held-out DoRF curves:\n\n{results_table(dorf)}")
    head, rest = text.split(start, 1)
    with atomic_write(readme) as temporary:
        temporary.write_text(f"{head}{start}\n{table}\n{end}{rest.split(end, 1)[1]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="lite", help="shipped model name")
    args = parser.parse_args(argv)
    out = REPO / "saved_models" / "MODEL_CARD.md"
    reports = load_reports()
    with atomic_write(out) as temporary:
        temporary.write_text(card(args.name, reports))
    update_readme(args.name, reports)
    print(f"wrote {out} and the README's results table")


if __name__ == "__main__":
    main()
