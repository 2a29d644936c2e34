#!/usr/bin/env python3
"""Attribute every event of a partitioned trailgraph case with DuckDB, through the same SQL as
the Spark driver (scale/sql/dedup_attribute.sql), and write OUT/ as Parquet partitioned like
the events (account=/region=/date=).

    python3 scale/duckdb_attribute.py CASE OUT [--map MAP] [--findings DIR] [--trailgraph PATH]

CASE is a local directory or s3://bucket/prefix (copied to a local staging directory first: the
httpfs extension is not installed with the duckdb wheel). When MAP (default CASE/map) has no
identities.parquet, `trailgraph resolve CASE -o MAP` makes it. --findings DIR writes the
engine-side detectors' findings as DIR/<detector>.parquet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tgcase  # noqa: E402
from tgcase import Failure  # noqa: E402


def quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def run_sql(con, sql: str) -> None:
    """Runs a statement to its end (a result left open blocks the connection's next one)."""
    con.execute(sql).fetchall()


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # Dates and times in UTC (the partition `date` is the UTC date of event_time).
    run_sql(con, "SET TimeZone = 'UTC'")
    if threads:
        run_sql(con, f"SET threads = {int(threads)}")
    return con


def attribute(con, case: tgcase.Case, m: tgcase.Location) -> None:
    """Defines `events`, `identities`, `event_map` and the table `attributed` in `con`."""
    identities, event_map = tgcase.read_map(m)
    con.register("identities_arrow", identities)
    con.register("event_map_arrow", event_map)
    run_sql(con, "CREATE OR REPLACE TABLE identities AS SELECT * FROM identities_arrow")
    run_sql(con, "CREATE OR REPLACE TABLE event_map AS SELECT * FROM event_map_arrow")
    files = ", ".join(quote(u) for u in case.urls(case.events))
    run_sql(
        con,
        f"CREATE OR REPLACE VIEW events AS SELECT * FROM read_parquet([{files}], hive_partitioning = false)",
    )
    run_sql(con, f"CREATE OR REPLACE TABLE attributed AS {tgcase.sql_text(tgcase.ATTRIBUTE_SQL)}")


def write(con, out: Path) -> int:
    cols = ", ".join(f'"{c}"' for c in tgcase.OUTPUT_COLUMNS + tgcase.PARTITION)
    parts = ", ".join(f'"{c}"' for c in tgcase.PARTITION)
    run_sql(
        con,
        f"COPY (SELECT {cols} FROM attributed ORDER BY {parts}, event_time, event_id, "
        f"recipient_account, source_file, record_index) TO {quote(str(out))} "
        f"(FORMAT parquet, PARTITION_BY ({parts}), OVERWRITE_OR_IGNORE true)",
    )
    return con.execute("SELECT count(*) FROM attributed").fetchall()[0][0]


def findings(con, out: Path) -> dict[str, int]:
    return tgcase.write_findings(out, lambda q: con.sql(q).to_arrow_table())


def run(args: argparse.Namespace, con=None) -> dict:
    case, m = tgcase.prepare(args.case, args.map, args.trailgraph, args.stage)
    con = con or connect(args.threads)
    attribute(con, case, m)
    out = Path(args.out)
    if out.exists():
        import shutil

        shutil.rmtree(out)
    rows = write(con, out)
    report = {"engine": "duckdb", "case": args.case, "events": rows, "map": m.url}
    if args.findings:
        report["findings"] = findings(con, Path(args.findings))
    return report


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("case", help="the case: a directory or s3://bucket/prefix")
    p.add_argument("out", help="the output directory (replaced)")
    p.add_argument("--map", help="the identity map directory (default CASE/map)")
    p.add_argument("--findings", help="write the detectors' findings here")
    p.add_argument("--trailgraph", help="the trailgraph binary (default $TRAILGRAPH or PATH)")
    p.add_argument("--stage", help="where an S3 case is copied (default a temporary directory)")
    p.add_argument("--threads", type=int, help="DuckDB threads")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        report = run(args)
    except Failure as e:
        print(f"duckdb_attribute: error: {e}", file=sys.stderr)
        return 2
    except duckdb.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"duckdb_attribute: error: {args.case}: {first}", file=sys.stderr)
        return 2
    print(f"attributed {report['events']} event(s) of {args.case} into {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
