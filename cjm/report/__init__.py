"""Reports for people and pipelines: one HTML page, or Markdown with Mermaid diagrams; and
what ``cjm report`` does, from its flags or a batch file."""

from cjm.report.batch import (
    BatchEntry,
    BatchFailure,
    BatchResult,
    EngineChoice,
    ReportRun,
    load_batch,
    run_batch,
    run_report,
)
from cjm.report.build import Report, ReportOptions, build_report
from cjm.report.options import report_options
from cjm.report.write import FORMATS, report_format, write_report

__all__ = ["FORMATS", "BatchEntry", "BatchFailure", "BatchResult", "EngineChoice",
           "Report", "ReportOptions",
           "ReportRun", "build_report", "load_batch", "report_format", "report_options",
           "run_batch", "run_report", "write_report"]
