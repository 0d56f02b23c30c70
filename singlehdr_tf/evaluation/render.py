"""``report.md``: the Markdown rendering of a report dict written by :func:`singlehdr_tf.evaluation.report.evaluate`
(kept apart from the scoring so either can change alone)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FAMILY_COLUMNS = ("pu21_psnr", "log_rmse", "curve_error")
"""Scores broken down by curve family, for sets whose samples name one (``--crfs modern``)."""
HDR_COLUMNS = ("pu21_psnr", "mu_psnr", "ssim_mu", "log_rmse", "log_rmse_clipped", "chroma_error_clipped",
               "normalized_psnr", "curve_error")


def _cell(stats: Mapping[str, Any] | None, digits: int) -> str:
    if not stats or stats.get("mean") is None:
        return "-"
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def _digits(key: str) -> int:
    return {"ssim_mu": 3, "log_rmse": 3, "log_rmse_clipped": 3, "curve_error": 5, "chroma_error_clipped": 1}.get(key, 2)


def markdown(report: Mapping[str, Any]) -> str:
    """``report.md`` from a report dict."""
    titles = {
        key: f"{value['title']} {'↑' if value['higher_is_better'] else '↓'}" for key, value in report["metrics"].items()
    }
    settings = report["set_settings"]
    lines = [
        "# Evaluation report",
        "",
        f"Test set `{report['set']}`: {report['samples']} samples ({settings['crfs']} response curves, "
        f"target clipped fractions {settings['clip_fractions']}, seed {settings['seed']}, crops of at most "
        f"{settings['crop_size']} px), {report['input'].upper()} inputs. Mean ± standard deviation over samples.",
        "",
        f"Scale alignment: {report['alignment']}",
        "",
        "## HDR quality",
        "",
        "| method | " + " | ".join(titles[key] for key in HDR_COLUMNS) + " | s / image |",
        "|---|" + "---|" * (len(HDR_COLUMNS) + 1),
    ]
    for name, scores in report["methods"].items():
        cells = [_cell(scores.get(key), _digits(key)) for key in HDR_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {scores['seconds_per_image']:.2f} |")
    for key in FAMILY_COLUMNS if report.get("by_family") else ():
        families = list(report["by_family"])
        lines += ["", f"## {titles[key]} by curve family", "",
                  "| method | " + " | ".join(families) + " |", "|---|" + "---|" * len(families)]
        for name in report["methods"]:
            cells = [_cell(report["by_family"][family][name].get(key), _digits(key)) for family in families]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    ablation = report["ablation"]
    lines += [
        "",
        "## Stage ablation (Liu et al. 2020, Tables 2-3)",
        "",
        "Dequantization: PSNR against F(C(H)), the response curve's output before 8-bit quantization.",
        "",
        f"| | {titles['dequantized_psnr']} |",
        "|---|---|",
    ]
    for name, stats in ablation["dequantization_psnr"].items():
        lines.append(f"| {name} | {_cell(stats, 2)} |")
    lines += [
        "",
        "Linearization: the inverse response curve against the true one, and the linear image against C(H).",
        "",
        f"| method | {titles['curve_error']} | {titles['linear_psnr']} |",
        "|---|---|---|",
    ]
    for name, stats in ablation["linearization"].items():
        lines.append(f"| {name} | {_cell(stats['curve_error'], 5)} | {_cell(stats['linear_psnr'], 2)} |")
    columns = report["contact_sheet"]["columns"]
    lines += [
        "",
        "## Contact sheet",
        "",
        f"Columns: {', '.join(columns)}; each row tone-mapped alike (exposure and white point of its ground truth).",
        "",
        f"![contact sheet]({report['contact_sheet']['file']})",
        "",
        "## Metrics",
        "",
    ]
    lines += [f"- **{value['title']}**: {value['definition']}" for value in report["metrics"].values()]
    return "\n".join(lines) + "\n"
