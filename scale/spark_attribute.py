#!/usr/bin/env python3
"""Attribute every event of a partitioned trailgraph case on Spark and write OUT/ as Parquet
partitioned like the events (account=/region=/date=).

    python3 scale/spark_attribute.py CASE OUT [--master URL] [--map MAP] [--findings DIR]
                                     [--trailgraph PATH] [--read-s3] [--stage DIR]

The flow (README "Beyond one machine"): the case's manifests name its events files; the
identity map of `trailgraph resolve` (MAP, default CASE/map; made when missing) is small and
broadcast; scale/sql/dedup_attribute.sql de-duplicates the events across ingest runs and joins
them with the map. --findings DIR also runs the engine-side detectors (scale/sql/<detector>.sql)
and writes DIR/<detector>.parquet.

CASE is a local directory or s3://bucket/prefix. Spark reads `s3://` only where the cluster has an
S3 connector (EMR, Databricks): pass --read-s3 there. Without it (a local Spark: `pip install
pyspark` has no hadoop-aws) the case is first copied to a local staging directory through
pyarrow's S3 filesystem (the standard AWS_* environment, AWS_ENDPOINT_URL included).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
import tgcase  # noqa: E402
from tgcase import Failure  # noqa: E402

# Session settings the shipped SQL relies on (the "dialect differences" of README "Beyond one
# machine"): "date" and "time" are quoted identifiers as in Trino and DuckDB; dates and times
# are UTC; partition values stay strings (an account id keeps its leading zeros).
SPARK_CONF = {
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
}


def session(master: str | None, local_partitions: int = 4):
    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName("trailgraph-attribute")
    if master:
        b = b.master(master)
    for k, v in SPARK_CONF.items():
        b = b.config(k, v)
    if (master or "").startswith("local"):
        # A small machine: few shuffle partitions, no UI.
        b = b.config("spark.sql.shuffle.partitions", str(local_partitions))
        b = b.config("spark.ui.enabled", "false")
        b = b.config("spark.ui.showConsoleProgress", "false")
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for k, v in SPARK_CONF.items():
        spark.conf.set(k, v)
    return spark


def attribute(spark, case: tgcase.Case, m: tgcase.Location):
    """Registers `events`, `identities`, `event_map` and returns the attributed DataFrame (also
    registered as `attributed`)."""
    identities, event_map = tgcase.read_map(m)
    # The map is small (it grows with sessions and identities, not events): it goes from the
    # driver to the executors, and the SQL's hint broadcasts it.
    spark.createDataFrame(identities).createOrReplaceTempView("identities")
    spark.createDataFrame(event_map).createOrReplaceTempView("event_map")
    base = case.loc.join("events").url
    events = spark.read.option("basePath", base).parquet(*case.urls(case.events))
    events.createOrReplaceTempView("events")
    df = spark.sql(tgcase.sql_text(tgcase.ATTRIBUTE_SQL))
    df.createOrReplaceTempView("attributed")
    return df


def write(df, out: str) -> None:
    (
        df.select(*tgcase.OUTPUT_COLUMNS, *tgcase.PARTITION)
        .repartition(*tgcase.PARTITION)
        .sortWithinPartitions(
            "event_time", "event_id", "recipient_account", "source_file", "record_index"
        )
        .write.mode("overwrite")
        .partitionBy(*tgcase.PARTITION)
        .parquet(out)
    )


def findings(spark, out: Path) -> dict[str, int]:
    return tgcase.write_findings(out, lambda q: spark.sql(q).toArrow())


def run(args: argparse.Namespace, spark=None) -> dict:
    case, m = tgcase.prepare(args.case, args.map, args.trailgraph, args.stage, args.read_s3)
    own = spark is None
    spark = spark or session(args.master)
    try:
        df = attribute(spark, case, m)
        df.persist()
        out = args.out if "://" in args.out else str(Path(args.out).resolve())
        write(df, out)
        report = {"engine": "spark", "case": args.case, "map": m.url}
        report["events"] = spark.sql("SELECT count(*) FROM attributed").collect()[0][0]
        if args.findings:
            report["findings"] = findings(spark, Path(args.findings))
        df.unpersist()
        return report
    finally:
        if own:
            spark.stop()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("case", help="the case: a directory or s3://bucket/prefix")
    p.add_argument("out", help="the output directory (replaced), any URL Spark writes")
    p.add_argument("--master", help="Spark master URL (default: spark-submit's, else local[*])")
    p.add_argument("--map", help="the identity map directory (default CASE/map)")
    p.add_argument("--findings", help="write the detectors' findings here (local directory)")
    p.add_argument("--trailgraph", help="the trailgraph binary (default $TRAILGRAPH or PATH)")
    p.add_argument("--read-s3", action="store_true",
                   help="hand s3:// URLs to Spark (a cluster with an S3 connector)")
    p.add_argument("--stage", help="where an S3 case is copied (default a temporary directory)")
    return p


def main(argv: list[str] | None = None, spark=None) -> int:
    args = parser().parse_args(argv)
    try:
        report = run(args, spark)
    except Failure as e:
        print(f"spark_attribute: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # Spark's errors: one line, naming the case.
        if type(e).__module__.startswith(("pyspark", "py4j")):
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            print(f"spark_attribute: error: {args.case}: {first}", file=sys.stderr)
            return 2
        raise
    print(f"attributed {report['events']} event(s) of {args.case} into {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
