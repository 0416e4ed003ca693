"""Writing a report: HTML (one self-contained page) or Markdown with Mermaid diagrams."""

from __future__ import annotations

import os
from pathlib import Path

from cjm.errors import UsageError
from cjm.report.build import Report

FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}


def report_format(target: str | Path) -> str:
    """html or markdown, from the file's extension."""
    kind = FORMATS.get(Path(target).suffix.lower())
    if kind is None:
        raise UsageError(f"-o {target}: a report is .html or .md",
                         "Example: -o report.html, or -o summary.md for a CI job summary.")
    return kind


def write_report(report: Report, target: str | Path, assets: str | Path | None = None,
                 ) -> list[Path]:
    """Write ``report`` to ``target`` (.html or .md), and with ``assets`` the maps as SVG and
    PNG files in that folder, linked from the Markdown (the HTML holds its maps inline);
    returns the files written."""
    from cjm.progress import step
    from cjm.report.html import to_html
    from cjm.report.markdown import to_markdown
    from cjm.safety import write_bytes, write_text

    target = Path(target)
    kind = report_format(target)
    written: list[Path] = []
    images: dict[str, str] = {}
    if assets is not None and kind == "markdown":
        folder = Path(assets)
        folder.mkdir(parents=True, exist_ok=True)
        for name, figure in report.figures:
            svg, png = (folder / f"{target.stem}.{name}.svg", folder / f"{target.stem}.{name}.png")
            write_text(svg, figure.svg)
            write_bytes(png, figure.draw("png"))
            written += [svg, png]
            images[name] = Path(os.path.relpath(svg, target.parent or ".")).as_posix()
    with step(f"Writing {target.name}"):
        text = to_html(report) if kind == "html" else to_markdown(report, images)
        write_text(target, text)
    return [target, *written]
