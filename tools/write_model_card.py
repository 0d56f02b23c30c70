"""Write ``saved_models/MODEL_CARD.md`` from the files that hold the facts, so no number in it is
typed by hand: the training config and logs (``training_logs/``), the chosen curve shrinkage,
the evaluation report (``reports/val/report.json``), the model sizes (``benchmarks/models.json``)
and the sha256 of every shipped file. The README's results table (between the
``<!-- results -->`` markers) is rewritten from the same report.

    python tools/write_model_card.py [--name lite]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib

import yaml

from singlehdr_tf.io import atomic_write

REPO = pathlib.Path(__file__).resolve().parent.parent
LOGS = REPO / "training_logs"
SHIPPED_RUNS = (
    ("base", "configs/lite.yaml"),
    ("curve_log", "configs/lite_curve_log.yaml"),
    ("log_refinement", "configs/lite_log_refinement.yaml"),
    ("curve_balance", "configs/lite_curve_balance.yaml"),
)
"""The training runs the shipped weights come from, in order: ``(log folder in training_logs/,
config file)``. ``tools/release_lite.sh RUN DATA NAME`` copies a run's config and logs to
``training_logs/NAME/``; the first run starts from scratch, each later one from the weights of the
one before (its ``init_from``)."""
HDR_COLUMNS = (
    ("pu21_psnr", "PU21-PSNR (dB) ↑", 2),
    ("log_rmse", "log RMSE (stops) ↓", 3),
    ("log_rmse_clipped", "log RMSE clipped (stops) ↓", 3),
    ("mu_psnr", "μ-PSNR (dB) ↑", 2),
    ("ssim_mu", "SSIM-μ ↑", 3),
    ("curve_error", "inverse-CRF L2 ↓", 5),
)


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    """``(markdown, steps, hours)`` of one training run of :data:`SHIPPED_RUNS`: why it was run
    (the config file's leading comment), its settings and a table of its stages, from
    ``training_logs/<run>/``."""
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
{config['learning_rate']['schedule']} schedule, seed {config['seed']}. Logs in `training_logs/{run}/`: `config.yaml`,
`metrics.jsonl` (losses, speed), `validation.jsonl` (inverse-curve error on the held-out scenes next
to `g0` and gamma 2.2).

| stage | steps | peak learning rate |
|---|---|---|
{rows}
"""
    return text, steps, hours


def card(name: str) -> str:
    shrinkage = json.loads((LOGS / "curve_shrinkage.json").read_text())
    dequantization = json.loads((LOGS / "dequantization_step.json").read_text())
    by_step = " · ".join(f"{step}/255: {scores['pu21_psnr']:.2f} dB, {scores['log_rmse']:.3f} stops"
                         for step, scores in dequantization["by_step_in_codes"].items())
    report = json.loads((REPO / "reports" / "val" / "report.json").read_text())
    sizes = json.loads((REPO / "benchmarks" / "models.json").read_text())["configs"][name]
    runs = [run_section(run, config_file) for run, config_file in SHIPPED_RUNS]
    steps, hours = sum(run[1] for run in runs), sum(run[2] for run in runs)
    run_sections = "\n".join(run[0] for run in runs)
    files = "\n".join(
        f"| `{path.relative_to(REPO / 'saved_models')}` | {path.stat().st_size / 1e6:.2f} MB | `{sha256(path)}` |"
        for path in shipped_files(name))
    dorf, parametric = shrinkage["dorf_train"], shrinkage["parametric"]
    chosen = str(shrinkage["chosen_shrinkage"])
    by_shrinkage = " · ".join(f"{s}: {value:.5f}" for s, value in dorf["curve_l2_by_shrinkage"].items()
                              if float(s) * 10 == round(float(s) * 10) or s == chosen)
    held_out = ", ".join(shrinkage["held_out_files"])
    return f"""# Model card: `{name}`

Single-image HDR reconstruction by reversing the camera pipeline (Liu, Lai et al., CVPR 2020),
the `{name}` configuration of singlehdr_tf: {sizes['params'] / 1e6:.2f}M parameters,
{sizes['gflops_per_megapixel']:.1f} GFLOP per megapixel (`benchmarks/models.json`). Input: one 8-bit
photo; output: linear HDR (1 = the camera's clipping level, defined up to scale), the inverse camera
curve, the dequantized and linear images. Generated by `python tools/write_model_card.py`.

## Training
- **Data:** `../shared/data/hdr/train` (51 real HDR images: 41 Poly Haven panoramas, 9 OpenEXR
  sample photographs, 1 HDR photograph by Rafał Mantiuk), of which {len(shrinkage['held_out_files'])}
  were held out of training for validation and for choosing the curve shrinkage ({held_out}).
  Training pairs made by `singlehdr_tf.data` (perspective views and crops, wide random exposure,
  white balance, contrast power, sensor noise), with the DoRF training-split curves (191) and
  parametric sRGB-like tone curves, half and half. The 10 DoRF test curves and `hdr/val` were
  never trained on. Not the reference paper's data or weights.
- **Runs**, in order, each from the weights of the one before ({steps} steps in all, {hours:.1f} h of
  logged training on a 2-core CPU; perceptual term off: no VGG16 ImageNet weights can be downloaded
  here). Runs measured and not shipped, with the reason, are in `training_logs/experiments/`.

{run_sections}
## Camera-curve shrinkage
The curve is blended with the mean inverse curve `g0`: `g = s · P(g0 + w @ H) + (1 − s) · g0`.
`s` was chosen on the held-out training scenes with the DoRF training-split curves, i.e. curves
of real cameras ({dorf['samples']} crops, `tools/choose_curve_shrinkage.py`,
`training_logs/curve_shrinkage.json`): curve L2 by `s`: {by_shrinkage}; `g0` alone
{dorf['curve_l2_g0']:.5f}, gamma 2.2 {dorf['curve_l2_gamma_2_2']:.5f}. With the parametric tone curves of the
training mix instead ({parametric['samples']} crops) the network is far ahead of `g0`
({parametric['curve_l2_by_shrinkage']['1.0']:.5f} at s = 1, {parametric['curve_l2_by_shrinkage'][chosen]:.5f} at the chosen s, `g0` {parametric['curve_l2_g0']:.5f}): measured on the mix of
both, as the earlier releases chose, the parametric half hid that the release before this one
was worse than `g0` on real cameras' curves (`training_logs/experiments/curve_balance_last_step/`). **Shipped with s = {shrinkage['chosen_shrinkage']}.**

## Dequantization step
The shipped graph keeps every dequantized value within {dequantization['chosen_step_in_codes']}/255 of its
8-bit input (`dequantization_max_step`, see `singlehdr_tf.models.DequantizationNet`): the net,
trained with sensor noise, also "corrects" clean values, and in the darkest codes a fraction of a
code is a large relative error. The step was chosen on {dequantization['samples']} crops of the held-out
training scenes with training curves (`tools/choose_dequantization_step.py`,
`training_logs/dequantization_step.json`), PU21-PSNR and log RMSE by step: {by_step}.
The `base` run trained without a clip and the fine-tuning runs with 0.5/255; the step is set at
export (`tools/release_lite.sh`, from `MODEL_CONFIGS["lite"]`).

## Evaluation
HDR-SYNTH set from `../shared/data/hdr/val` (never trained on), {report['samples']} samples: 11 scenes ×
3 exposures (3 %, 8 %, 20 % of the pixels clipped), the 10 held-out DoRF curves, PNG input
(`singlehdr synth ../shared/data/hdr/val sets/val`, then
`singlehdr evaluate --data sets/val --model {name} --baselines all --out reports/val`; the whole
release is `tools/release_lite.sh`). {report['alignment']} Mean ± standard deviation over samples.

{results_table(report)}

"(no dequantization)" is the same model with the Dequantization-Net's step held to 0, and
"(no hallucination)" the model cut after linearization: their differences to the full model are
what dequantization, and the Hallucination- and Refinement-Nets, add. Stage checks:

{ablation_table(report)}

Real photos (no ground truth): `reports/real_photos.png`; synthetic set: `reports/val/contact_sheet.png`.

## Files
| file | size | sha256 |
|---|---|---|
{files}

## Limits
- Trained on about 50 scenes for a few thousand steps on a CPU: far less than the paper (HDR-SYNTH,
  hundreds of thousands of steps on GPUs). Expect the hallucinated highlights to be plausible in
  brightness, not in detail.
- Camera curves are estimated from image statistics; a curve far from DoRF and the parametric
  family (strong local tone mapping of phone cameras, HDR+ style processing) is outside what it saw.
- The perceptual loss was off (no ImageNet VGG16 weights are reachable here).
- The learned curves beat the mean curve `g0` by a small margin (see the table), and blended with
  it (the shrinkage above): on real cameras' curves the network alone is only a little better
  than `g0` on held-out scenes. Most of the curve error is a few cameras far from the mean.
- Large clipped areas can get a colour cast (pink in clipped skies in
  `reports/val/contact_sheet.png`): the Hallucination-Net restores each channel separately, and
  where all three are clipped nothing in the input tells their ratio.
- Output is linear and relative: multiply by a scale to get absolute radiance.
"""


def update_readme(name: str) -> None:
    """Replace the README's results table with the one of ``reports/val/report.json``."""
    readme = REPO / "README.md"
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    text = readme.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{readme}: no {start} ... {end} block to update")
    report = json.loads((REPO / "reports" / "val" / "report.json").read_text())
    table = (f"{report['samples']} samples of `../shared/data/hdr/val` (never trained on) with the 10 held-out "
             f"DoRF curves; the shipped `{name}` model against every classical baseline and the oracle curve:\n\n"
             f"{results_table(report)}")
    head, rest = text.split(start, 1)
    with atomic_write(readme) as temporary:
        temporary.write_text(f"{head}{start}\n{table}\n{end}{rest.split(end, 1)[1]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="lite", help="shipped model name")
    args = parser.parse_args(argv)
    out = REPO / "saved_models" / "MODEL_CARD.md"
    with atomic_write(out) as temporary:
        temporary.write_text(card(args.name))
    update_readme(args.name)
    print(f"wrote {out} and the README's results table")


if __name__ == "__main__":
    main()
