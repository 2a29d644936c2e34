"""What the engine drivers share: a partitioned trailgraph case (format 3) and its identity map,
read from a local directory or from S3 through pyarrow's filesystems, and the shipped SQL.

A case is read the way `trailgraph` reads it (scale-spec.md, "Case format 3"): the manifests
`CASE/manifests/<RUN>.json` are merged in run order and exactly the data files they name are
read; a file no manifest names belongs to an unfinished run and is ignored. De-duplication across
runs is in the SQL (`sql/dedup_attribute.sql`).

S3: Spark's own `s3a://` needs the hadoop-aws jars, which a pip install does not bring. So for a
local Spark (and for DuckDB) the case is read through pyarrow's S3 filesystem (the standard AWS
environment: AWS_ACCESS_KEY_ID/…, AWS_REGION, AWS_ENDPOINT_URL[_S3], AWS_SKIP_SIGNATURE); a
cluster that reads `s3://` itself (EMR, Databricks) gets the URLs as they are.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
SQL_DIR = HERE / "sql"

# The SQL files the drivers run, by name (scale/sql/<name>.sql).
ATTRIBUTE_SQL = "dedup_attribute"
DETECTORS = ["session_multi_ip", "workload_credential_exfiltration"]

# The partition columns of the events and of the attributed output, outermost first.
PARTITION = ["account", "region", "date"]

# The columns of `trailgraph attribute` (in its order), then the evidence of each event.
ATTRIBUTE_COLUMNS = [
    "event_id",
    "event_time",
    "event_name",
    "event_source",
    "recipient_account",
    "aws_region",
    "source_ip",
    "access_key_id",
    "session_id",
    "origin",
    "chain",
    "depth",
    "confidence",
    "source_identity",
]
OUTPUT_COLUMNS = ATTRIBUTE_COLUMNS + ["source_file", "record_index"]

# The attribution columns of the map (scale-spec.md, "Identity map").
MAP_ATTRIBUTION = ["session_id", "origin", "chain", "depth", "confidence", "source_identity"]


class Failure(Exception):
    """A clear one-line error (the drivers print it and exit 2)."""


def write_findings(out: Path, query) -> dict[str, int]:
    """Runs each detector's SQL through `query` (SQL text -> Arrow table) and writes its
    findings, sorted by time and subject, as `out/<detector>.parquet`: the count of each."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in DETECTORS:
        t = query(sql_text(name))
        t = t.sort_by([("time", "ascending"), ("subject", "ascending")])
        pq.write_table(t, out / f"{name}.parquet")
        counts[name] = t.num_rows
    return counts


def sql_text(name: str) -> str:
    """The text of scale/sql/<name>.sql, without its trailing semicolon if any."""
    p = SQL_DIR / f"{name}.sql"
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise Failure(f"{p}: cannot read: {e.strerror}") from None
    return text.strip().rstrip(";")


def is_s3(url: str) -> bool:
    return url.startswith("s3://")


def s3_filesystem() -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem from the standard AWS environment (as trailgraph reads it)."""
    kw = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        u = urlparse(endpoint)
        kw["endpoint_override"] = u.netloc or u.path
        kw["scheme"] = u.scheme or "https"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        kw["region"] = region
    if os.environ.get("AWS_SKIP_SIGNATURE", "").lower() in ("1", "true"):
        kw["anonymous"] = True
    return pafs.S3FileSystem(**kw)


@dataclass
class Location:
    """A directory, local or on S3, as a pyarrow filesystem and a path in it."""

    url: str
    fs: pafs.FileSystem
    path: str

    @staticmethod
    def of(url: str) -> "Location":
        if is_s3(url):
            u = urlparse(url)
            if not u.netloc:
                raise Failure(f"{url}: not an s3://bucket/prefix URL")
            return Location(url.rstrip("/"), s3_filesystem(), (u.netloc + u.path).rstrip("/"))
        if "://" in url:
            raise Failure(f"{url}: only local paths and s3:// URLs are read")
        p = str(Path(url).resolve())
        return Location(p, pafs.LocalFileSystem(), p)

    def join(self, rel: str) -> "Location":
        return Location(self.url + "/" + rel, self.fs, posixpath.join(self.path, rel))

    def exists(self) -> bool:
        try:
            return self.fs.get_file_info(self.path).type != pafs.FileType.NotFound
        except OSError as e:
            raise Failure(f"{self.url}: cannot read: {e}") from None

    def read_text(self) -> str:
        try:
            with self.fs.open_input_stream(self.path) as f:
                return f.read().decode("utf-8")
        except OSError as e:
            raise Failure(f"{self.url}: cannot read: {e}") from None


@dataclass
class Case:
    """A partitioned case: its location, its runs and the data files their manifests name."""

    loc: Location
    runs: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    issuances: list[str] = field(default_factory=list)

    @staticmethod
    def open(url: str) -> "Case":
        loc = Location.of(url)
        mdir = loc.join("manifests")
        try:
            infos = loc.fs.get_file_info(pafs.FileSelector(mdir.path, allow_not_found=True))
        except OSError as e:
            raise Failure(f"{mdir.url}: cannot list: {e}") from None
        names = sorted(
            posixpath.basename(i.path)
            for i in infos
            if i.type == pafs.FileType.File and i.path.endswith(".json")
        )
        if not names:
            old = loc.join("manifest.json")
            if old.exists():
                raise Failure(
                    f"{url}: a case of an older format (manifest.json, no manifests/): "
                    "run `trailgraph ingest` on the logs again"
                )
            raise Failure(f"{url}: not a trailgraph case (no manifests/*.json)")
        case = Case(loc)
        seen = set()
        for name in names:
            m = mdir.join(name)
            try:
                doc = json.loads(m.read_text())
                files = doc["files"]
            except (ValueError, KeyError, TypeError) as e:
                raise Failure(f"{m.url}: not a trailgraph case manifest: {e}") from None
            if doc.get("format") != "trailgraph-case" or doc.get("version") != 3:
                raise Failure(
                    f"{m.url}: case format {doc.get('format')} version {doc.get('version')}; "
                    "these drivers read version 3 (partitioned)"
                )
            case.runs.append(name[: -len(".json")])
            for f in files:
                rel = f.get("path") if isinstance(f, dict) else None
                if not isinstance(rel, str) or not safe_relative(rel):
                    raise Failure(f"{m.url}: names a file outside the case: {rel!r}")
                if rel in seen:
                    continue
                seen.add(rel)
                if rel.startswith("events/"):
                    case.events.append(rel)
                elif rel.startswith("issuances/"):
                    case.issuances.append(rel)
        return case

    def urls(self, rels: list[str]) -> list[str]:
        return [self.loc.join(r).url for r in rels]


def safe_relative(p: str) -> bool:
    return (
        p != ""
        and not p.startswith("/")
        and "\\" not in p
        and all(c not in ("", ".", "..") for c in p.split("/"))
    )


def stage(case: Case, dest: Path) -> Case:
    """A local copy of what the engine reads of an S3 case: the manifests, the data files they
    name, and the map when the case holds one (`map/`)."""
    dest.mkdir(parents=True, exist_ok=True)
    rels = [f"manifests/{r}.json" for r in case.runs] + case.events + case.issuances
    map_loc = case.loc.join("map")
    for name in ("identities.parquet", "events.parquet", "resolve.json"):
        if map_loc.join(name).exists():
            rels.append(f"map/{name}")
    local = pafs.LocalFileSystem()
    for rel in rels:
        src = case.loc.join(rel)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            pafs.copy_files(src.path, str(target), source_filesystem=case.loc.fs,
                            destination_filesystem=local)
        except OSError as e:
            raise Failure(f"{src.url}: cannot copy: {e}") from None
    return Case.open(str(dest))


def trailgraph_binary(given: str | None) -> str:
    """The trailgraph to run: --trailgraph, $TRAILGRAPH, or `trailgraph` on PATH."""
    exe = given or os.environ.get("TRAILGRAPH") or shutil.which("trailgraph")
    if not exe:
        raise Failure("trailgraph is not on PATH (give --trailgraph PATH or set TRAILGRAPH)")
    return exe


def map_runs(m: Location) -> list[str] | None:
    """The case runs a map was made from (MAP/resolve.json: "runs" or "case"."runs"), None when
    not stated."""
    r = m.join("resolve.json")
    if not r.exists():
        return None
    try:
        doc = json.loads(r.read_text())
        runs = doc.get("runs")
        if runs is None and isinstance(doc.get("case"), dict):
            runs = doc["case"].get("runs")
    except (ValueError, AttributeError):
        return None
    if isinstance(runs, list) and all(isinstance(x, str) for x in runs):
        return sorted(runs)
    return None


def ensure_map(case: Case, map_url: str, trailgraph: str | None, quiet: bool = True) -> Location:
    """The identity map at `map_url`, made by `trailgraph resolve CASE -o MAP` when it is
    missing (no identities.parquet) or stale (its resolve.json names other runs than the case
    has now: an ingest run came after it)."""
    m = Location.of(map_url)
    if m.join("identities.parquet").exists():
        runs = map_runs(m)
        if runs is None or runs == sorted(case.runs):
            return m
        why = "made before the case's latest ingest runs"
    else:
        why = "missing"
    exe = trailgraph_binary(trailgraph)
    cmd = [exe, "resolve", case.loc.url, "-o", map_url] + (["-q"] if quiet else [])
    print(f"scale: identity map {map_url} {why}: running {' '.join(cmd)}", file=sys.stderr)
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL if quiet else None)
    if r.returncode not in (0, 1):
        raise Failure(f"{case.loc.url}: `trailgraph resolve` failed (exit {r.returncode})")
    if not m.join("identities.parquet").exists():
        raise Failure(f"{map_url}: `trailgraph resolve` wrote no identities.parquet")
    return m


def read_map(m: Location) -> tuple[pa.Table, pa.Table]:
    """The map's two tables (events.parquet may be absent: no per-event rows)."""

    def read(name: str) -> pa.Table | None:
        loc = m.join(name)
        if not loc.exists():
            return None
        try:
            return pq.read_table(loc.path, filesystem=m.fs)
        except (OSError, pa.ArrowInvalid) as e:
            raise Failure(f"{loc.url}: cannot read: {e}") from None

    identities = read("identities.parquet")
    if identities is None:
        raise Failure(f"{m.url}: no identities.parquet")
    events = read("events.parquet")
    if events is None:
        events = pa.table(
            {"recipient_account": pa.array([], pa.string()), "event_id": pa.array([], pa.string())}
            | {c: pa.array([], identities.schema.field(c).type) for c in MAP_ATTRIBUTION}
        )
    for t, name, need in (
        (identities, "identities.parquet", ["identity_sig", "valid_from", "valid_to"]),
        (events, "events.parquet", ["recipient_account", "event_id"]),
    ):
        missing = [c for c in need + MAP_ATTRIBUTION if c not in t.column_names]
        if missing:
            raise Failure(f"{m.join(name).url}: lacks the columns {', '.join(missing)}")
    return plain(identities), plain(events)


def plain(t: pa.Table) -> pa.Table:
    """`t` in types every engine takes: view types as their plain forms (string_view → string),
    unsigned integers as int64 (Spark has none; `depth` is uint32)."""
    fields = []
    for f in t.schema:
        ty = f.type
        if ty == pa.string_view():
            ty = pa.string()
        elif ty == pa.binary_view():
            ty = pa.binary()
        elif pa.types.is_unsigned_integer(ty):
            ty = pa.int64()
        fields.append(pa.field(f.name, ty, f.nullable))
    return t.cast(pa.schema(fields))


def prepare(
    case_url: str,
    map_url: str | None,
    trailgraph: str | None,
    stage_dir: str | None,
    read_s3: bool = False,
) -> tuple[Case, Location]:
    """The case and its identity map, ready for an engine. An S3 case is copied to `stage_dir`
    (a temporary directory when None) unless the engine reads S3 itself (`read_s3`). The map is
    `map_url`, by default `CASE/map` (for an S3 case read in place: a local temporary
    directory), made by `trailgraph resolve` when missing."""
    case = Case.open(case_url)
    if not case.events:
        raise Failure(f"{case_url}: the manifests name no events file")
    first = case.loc.join(case.events[0])
    try:
        names = pq.read_schema(first.path, filesystem=case.loc.fs).names
    except (OSError, pa.ArrowInvalid) as e:
        raise Failure(f"{first.url}: cannot read: {e}") from None
    if "identity_sig" not in names:
        raise Failure(
            f"{first.url}: has no identity_sig column (written by a trailgraph without "
            "`resolve`): ingest the logs again"
        )
    if is_s3(case_url) and not read_s3:
        import tempfile

        dest = Path(stage_dir) if stage_dir else Path(tempfile.mkdtemp(prefix="trailgraph-stage-"))
        case = stage(case, dest)
    if map_url is None:
        if is_s3(case.loc.url):
            existing = case.loc.join("map")
            if existing.join("identities.parquet").exists():
                map_url = existing.url
            else:
                import tempfile

                map_url = tempfile.mkdtemp(prefix="trailgraph-map-")
        else:
            map_url = case.loc.join("map").url
    return case, ensure_map(case, map_url, trailgraph)
