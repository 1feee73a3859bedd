"""The audit-at-scale study's parameters (notebook 04)."""

from fairaudit.studies._parameters import Parameter, Rule, between, declare, memory_budget, one_of

#: Memory a row of the log takes when pandas holds it: the slope of the notebook's peak
#: resident memory between 1 and 4 million rows (0.47 GB and 0.86 GB).
PANDAS_BYTES_PER_ROW = 134


def _fits(value, values) -> bool:
    return values["engine"] != "pandas" or value * PANDAS_BYTES_PER_ROW <= memory_budget()


def _estimate(value, values) -> str:
    budget = memory_budget()
    return (
        f"pandas would hold about {value * PANDAS_BYTES_PER_ROW / 1e9:,.1f} GB of the "
        f"{budget / 1e9:,.1f} GB allowed (at most {budget // PANDAS_BYTES_PER_ROW:,} rows); use "
        "engine duckdb, polars or spark, which count where the data lie, or fewer rows"
    )


PARAMETERS = declare(
    Parameter("rows", 20_000_000, "decisions in the generated log",
              (between(10_000, 1_000_000_000),
               Rule(f"at most what half of this machine's memory holds with engine pandas "
                    f"({PANDAS_BYTES_PER_ROW} bytes a row)", _fits, ("engine",), _estimate))),
    Parameter("engine", "duckdb", "where the audit counts",
              (one_of("duckdb", "polars", "spark", "pandas"),)),
    Parameter("scaling", True, "also time the audit on a hundredth and a tenth of the log, "
              "each in a fresh process"),
    Parameter("n_boot", 1000, "bootstrap replicates behind every interval",
              (between(0, 10_000),)),
    Parameter("output_dir", "reports/scratch/audit_at_scale", "where a run in JupyterLab or "
              "papermill writes; `fairaudit run` writes reports/audit_at_scale/"),
)  # fmt: skip
