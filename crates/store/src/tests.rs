//! Unit tests of the case store's writer and chunker.
use crate::chunk::*;
use crate::pinned::*;
use polars::prelude::*;
use trailgraph_log::table::{event, StrCol};

fn col(values: &[Option<&str>]) -> StrCol {
    let mut c = StrCol::default();
    for v in values {
        c.push(*v);
    }
    c
}

/// `dictionary_of` keeps every value (nulls as nulls), numbers the distinct values in
/// order of first appearance, and gives up on mostly distinct columns.
#[test]
fn dictionary_of_values_and_keys() {
    use polars_arrow::array::{Array, Utf8ViewArray};
    let long = "arn:aws:iam::111122223333:role/a-role-name-long-enough";
    let rows = [
        Some(long),
        Some(long),
        None,
        Some("b"),
        Some(long),
        Some("b"),
        None,
    ];
    // Through ingest's columns, where rows repeating a value share one view.
    let c = string_column("c", vec![col(&rows)], &[&[true; 7]]);
    let a = c.str().unwrap().downcast_iter().next().unwrap();
    assert_eq!(a.views()[0], a.views()[1]);
    let d = dictionary_of(a).expect("few distinct values");
    let values = d.values().as_any().downcast_ref::<Utf8ViewArray>().unwrap();
    assert_eq!(values.values_iter().collect::<Vec<_>>(), [long, "b"]);
    let back: Vec<Option<&str>> = (0..d.len())
        .map(|i| {
            d.is_valid(i)
                .then(|| values.value(d.keys().value(i) as usize))
        })
        .collect();
    assert_eq!(back, rows);
    let distinct: Vec<String> = (0..200).map(|i| format!("value number {i}")).collect();
    let a = Utf8ViewArray::from_slice(
        distinct
            .iter()
            .map(|s| Some(s.as_str()))
            .collect::<Vec<_>>(),
    );
    assert!(dictionary_of(&a).is_none());
}

/// The case writer compresses every column with Snappy but the UUID columns, keeps
/// min/max statistics but for `NO_MIN_MAX_COLUMNS` (null counts for all), and its own
/// dictionary encoding reads back as the values written.
#[test]
fn writer_codecs_per_column() {
    use polars_parquet::parquet::compression::Compression;
    use polars_parquet::parquet::statistics::Statistics;
    let df = df!(
        event::event_id => ["3f1c9a2e-0b7d-4e51-9c3a-1d2e3f4a5b6c"; 300],
        event::event_name => ["AssumeRole"; 300],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let mut w = PqWriter::new(std::fs::File::create(&path).unwrap(), df.schema(), false).unwrap();
    w.write(&df).unwrap();
    w.finish().unwrap();
    let meta =
        polars_parquet::read::read_metadata(&mut std::fs::File::open(&path).unwrap()).unwrap();
    let codecs: Vec<(String, Compression)> = meta.row_groups[0]
        .parquet_columns()
        .iter()
        .map(|c| {
            (
                c.descriptor().path_in_schema[0].to_string(),
                c.compression(),
            )
        })
        .collect();
    assert_eq!(
        codecs,
        [
            (event::event_id.to_string(), Compression::Uncompressed),
            (event::event_name.to_string(), Compression::Snappy),
        ]
    );
    let stats: Vec<(bool, bool, Option<i64>)> = meta.row_groups[0]
        .parquet_columns()
        .iter()
        .map(|c| {
            let Statistics::Binary(b) = c.statistics(&meta.footer_buf).unwrap().unwrap() else {
                panic!("string statistics")
            };
            (b.min_value.is_some(), b.max_value.is_some(), b.null_count)
        })
        .collect();
    assert_eq!(stats, [(false, false, Some(0)), (true, true, Some(0))]);
    let back = ParquetReader::new(std::fs::File::open(&path).unwrap())
        .finish()
        .unwrap();
    assert!(back.equals(&df));
}

/// A chunk of three files' event columns (some rows dropped, one file dropped whole; all
/// rows with `drop_all`).
fn event_chunk(only: Option<&[&str]>, drop_all: bool) -> RawChunk {
    use trailgraph_log::table::{EventBatch, EventRow};
    let mut chunker = Chunker::new(EventBatch::SCHEMA, only, usize::MAX);
    for f in 0..3u64 {
        let mut b = EventBatch::default();
        let mut keep = Vec::new();
        for r in 0..200u64 {
            let row = EventRow {
                event_id: Some(format!("{f:08x}-{r:04x}-4e51-9c3a-1d2e3f4a5b6c").into()),
                event_time: Some(1_700_000_000_000 + (r * 997) as i64),
                event_name: Some(["AssumeRole", "GetObject", "ListBuckets"][r as usize % 3].into()),
                user_agent: (r % 7 != 0).then(|| format!("agent/{}", r / 10).into()),
                read_only: (r % 5 != 0).then_some(r % 2 == 0),
                source_file: Some(format!("AWSLogs/111122223333/CloudTrail/f{f}.json.gz").into()),
                record_index: r,
                ..Default::default()
            };
            b.push(&row);
            keep.push(!drop_all && f != 1 && r % 11 != 3);
        }
        chunker.push(b.take_columns(), keep);
    }
    chunker.take().expect("three files")
}

/// Writing a chunk column by column (`RawChunk::write_to`, what ingest does) gives the same bytes
/// as building its frame and writing that, with all columns or a projection of them, and
/// no row group when every row was dropped.
#[test]
fn write_chunk_same_bytes_as_build_then_write() {
    let dir = tempfile::tempdir().unwrap();
    let some = Some(&[event::event_name, event::event_id, event::record_index][..]);
    for (only, drop_all) in [(None, false), (some, false), (None, true)] {
        let built = event_chunk(only, drop_all).build().unwrap();
        let rows = if drop_all { 0 } else { 2 * (200 - 18) };
        assert_eq!(built.height(), rows);
        let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
        let mut w =
            PqWriter::new(std::fs::File::create(&a).unwrap(), built.schema(), false).unwrap();
        w.write(&built).unwrap();
        w.finish().unwrap();
        let raw = event_chunk(only, drop_all);
        assert_eq!(raw.frame_schema(), **built.schema());
        let mut w = PqWriter::new(
            std::fs::File::create(&b).unwrap(),
            &raw.frame_schema(),
            false,
        )
        .unwrap();
        raw.write_to(&mut w).unwrap();
        w.finish().unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        let back = ParquetReader::new(std::fs::File::open(&b).unwrap())
            .finish()
            .unwrap();
        assert!(back.equals_missing(&built));
        assert_eq!(back.height(), rows);
    }
}

/// Gathering a multi-chunk string column by views gives what polars' own gather gives.
#[test]
fn gather_strings_matches_take() {
    let mut c = StringChunked::from_iter_options(
        "c".into(),
        [Some("a value longer than twelve"), None, Some("short")].into_iter(),
    );
    c.append(&StringChunked::from_iter_options(
        "c".into(),
        std::iter::empty::<Option<&str>>(),
    ))
    .unwrap();
    c.append(&StringChunked::from_iter_options(
        "c".into(),
        [Some("second chunk, long enough too"), Some("x"), None].into_iter(),
    ))
    .unwrap();
    assert!(c.chunks().len() >= 2);
    let idx: Vec<IdxSize> = vec![3, 0, 5, 1, 4, 2, 3, 0];
    let got = gather_strings(&c, &idx);
    let want = c.take(&IdxCa::from_vec("".into(), idx.clone())).unwrap();
    assert_eq!(
        got.str().unwrap().iter().collect::<Vec<_>>(),
        want.iter().collect::<Vec<_>>()
    );
    assert_eq!(got.null_count(), 2);
}

/// The views over the arenas give back exactly the kept values, also when an arena is
/// over the buffer limit and is copied into several buffers.
#[test]
fn string_column_views_and_spill() {
    let long = "a string well over twelve bytes long";
    let a: Vec<Option<&str>> = vec![
        Some("short"),
        None,
        Some(long),
        Some(long),
        None,
        Some(long),
        Some(""),
        Some(""),
        Some("dropped row value"),
    ];
    let b: Vec<Option<&str>> = vec![
        Some("another long value, also over 12"),
        Some("x"),
        None,
        Some("a third value that is long enough"),
    ];
    let keep_a = [true, true, false, true, true, true, true, true, false];
    let keep_b = [true, true, true, true];
    let expect: Vec<Option<&str>> = a
        .iter()
        .zip(keep_a)
        .filter_map(|(v, k)| k.then_some(*v))
        .chain(b.iter().copied())
        .collect();
    // A value equal to the one before it (nulls between) is stored once, and every way of
    // reading the column gives it back.
    let ca = col(&a);
    assert_eq!(
        ca.bytes(),
        "short".len() + long.len() + "dropped row value".len()
    );
    assert_eq!(ca.iter().collect::<Vec<_>>(), a);
    assert_eq!((0..a.len()).map(|i| ca.get(i)).collect::<Vec<_>>(), a);
    for max in [u32::MAX as usize, 40, 8] {
        let c = string_column_with("c", vec![col(&a), col(&b)], &[&keep_a, &keep_b], max);
        let got: Vec<Option<&str>> = c.str().unwrap().iter().collect();
        assert_eq!(got, expect, "max_buffer {max}");
        assert_eq!(c.null_count(), 3);
    }
}

/// A case written by an older trailgraph (format 2: one `manifest.json`, before the run
/// manifests) is refused with a message that says what to do; a newer run manifest too; the
/// current one is read.
#[test]
fn manifest_versions() {
    use crate::manifest::{write_manifest, Manifest, CASE_VERSION};
    use crate::read::read_manifest;
    let dir = tempfile::tempdir().unwrap();
    let mut m = Manifest::new();
    m.run = "20250101T000000Z-00000000".into();
    write_manifest(dir.path(), &m).unwrap();
    let got = read_manifest(dir.path()).unwrap();
    assert_eq!(got.version, CASE_VERSION);
    assert_eq!(got.runs, vec![m.run.clone()]);
    m.version = CASE_VERSION + 1;
    write_manifest(dir.path(), &m).unwrap();
    let e = read_manifest(dir.path()).unwrap_err().to_string();
    assert!(e.contains("newer"), "{e}");
    // A version-2 case: manifest.json beside events/ and issuances/, no manifests/.
    let old = tempfile::tempdir().unwrap();
    std::fs::write(
        old.path().join("manifest.json"),
        r#"{"format":"trailgraph-case","version":2,"tool_version":"0.1.0","parts":1}"#,
    )
    .unwrap();
    assert!(trailgraph_log::discover::is_case_dir(old.path()));
    let e = read_manifest(old.path()).unwrap_err().to_string();
    assert!(
        e.contains("version 2") && e.contains("older trailgraph") && e.contains("ingest"),
        "{e}"
    );
}

/// Partition values: the characters Hive leaves alone stay, every other byte is
/// percent-encoded, null and empty are Hive's default partition.
#[test]
fn partition_values() {
    use crate::write::partition_value;
    assert_eq!(partition_value(Some("111122223333")), "111122223333");
    assert_eq!(partition_value(Some("us-east-1")), "us-east-1");
    assert_eq!(partition_value(Some("../x")), "..%2Fx");
    assert_eq!(partition_value(Some("a b=c%")), "a%20b%3Dc%25");
    assert_eq!(partition_value(Some("é")), "%C3%A9");
    assert_eq!(partition_value(Some("")), "__HIVE_DEFAULT_PARTITION__");
    assert_eq!(partition_value(None), "__HIVE_DEFAULT_PARTITION__");
}

/// The issuances of a run of many batches are built into a frame every `ISSUANCE_BATCHES`
/// batches (`stream`): the result is the frame built from all of them at once. 600 files, each
/// its own batch (`group_bytes` 0), against the same files in runs of up to 128 (fewer batches
/// than `ISSUANCE_BATCHES`, so built once at the end).
#[test]
fn issuances_built_in_steps_equal_built_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..600 {
        let assume = serde_json::json!({
            "eventVersion": "1.08",
            "eventID": format!("a{i}"),
            "eventTime": "2024-03-01T10:00:00Z",
            "eventName": "AssumeRole",
            "eventSource": "sts.amazonaws.com",
            "awsRegion": "us-east-1",
            "recipientAccountId": "111122223333",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                             "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE0000001"},
            "requestParameters": {"roleArn": "arn:aws:iam::111122223333:role/r",
                                  "roleSessionName": format!("s{i}")},
            "responseElements": {"credentials": {"accessKeyId": format!("ASIA{i:016}"),
                                 "expiration": "Mar 1, 2024, 11:00:00 AM"}},
        });
        std::fs::write(
            dir.path().join(format!("{i:04}.json")),
            serde_json::to_vec(&serde_json::json!({ "Records": [assume] })).unwrap(),
        )
        .unwrap();
    }
    let found = trailgraph_log::discover::discover(&[dir.path().to_path_buf()]).unwrap();
    let prior = Default::default();
    let frames = |group_bytes| {
        let opts = trailgraph_log::ingest::IngestOptions {
            group_bytes,
            ..Default::default()
        };
        ingest_frames(&found.files, &opts, &prior, None).unwrap().1
    };
    let (alone, runs) = (frames(0), frames(trailgraph_log::ingest::GROUP_BYTES));
    assert_eq!(alone.issuances.height(), 600);
    assert!(alone.issuances.equals_missing(&runs.issuances));
    assert_eq!(alone.issuances.first_col_n_chunks(), 1);
}
