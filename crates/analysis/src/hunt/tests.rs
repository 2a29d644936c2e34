//! The Sigma semantics `hunt` promises where evaluators differ (issue 15, point 1), on records
//! read through ingest exactly as a user's logs are: each test names the rule of the
//! specification it checks (Sigma specification 2.0, "Sigma Rules Specification",
//! github.com/SigmaHQ/sigma-specification, sections "Null values", "Value modifiers",
//! "Lists", "Wildcards").

use super::*;
use std::path::PathBuf;
use trailgraph_log::ingest::IngestOptions;
use trailgraph_store::load::load;

const RECORD: &str = r#"{"Records":[{
  "eventVersion":"1.08","eventTime":"2024-07-01T10:00:00Z","eventSource":"iam.amazonaws.com",
  "eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7",
  "userAgent":"aws-cli/2.15","recipientAccountId":"111122223333","eventID":"e-1",
  "readOnly":false,"eventType":"AwsApiCall","managementEvent":true,
  "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Deploy/s1",
    "principalId":"AROAEXAMPLE:s1","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE",
    "sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/ops/Deploy",
      "principalId":"AROAEXAMPLE","accountId":"111122223333","userName":"Deploy"},
      "attributes":{"creationDate":"2024-07-01T09:00:00Z","mfaAuthenticated":"false"}}},
  "requestParameters":{"userName":"eve","port":22,"enable":false,"tags":["a","Backdoor"],
    "containerDefinitions":[{"command":["sh","-c","curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}],
    "target":"arn:aws:sts::111122223333:assumed-role/Deploy/s1"},
  "responseElements":{"user":{"userName":"eve","arn":"arn:aws:iam::111122223333:user/eve"}},
  "resources":[{"ARN":"arn:aws:iam::111122223333:user/eve","type":"AWS::IAM::User"}]
}]}"#;

fn scan_of(text: &str) -> Scan {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.json");
    std::fs::write(&f, text).unwrap();
    let loaded = load(&[PathBuf::from(&f)], &IngestOptions::default()).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    Scan::memory(loaded.frames).unwrap()
}

fn rule(detection: &str) -> String {
    format!(
        "title: t\nid: 11111111-1111-1111-1111-111111111111\nauthor: a\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n{detection}\nlevel: high\n"
    )
}

/// Does the rule with this detection match the record?
fn hits(detection: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.yml");
    std::fs::write(&f, rule(detection)).unwrap();
    let set = RuleSet::load(Rules::Paths(&[f])).unwrap();
    assert!(set.problems.is_empty(), "{:?}", set.problems);
    hunt(&scan_of(RECORD), &set, false).unwrap().hits > 0
}

fn sel(field: &str, value: &str) -> String {
    format!("  sel:\n    {field}: {value}\n  condition: sel")
}

#[test]
fn kept_fields_by_their_cloudtrail_paths() {
    assert!(hits(&sel("eventName", "CreateUser")));
    assert!(hits(&sel("eventSource", "iam.amazonaws.com")));
    assert!(hits(&sel("userIdentity.type", "AssumedRole")));
    assert!(hits(&sel(
        "userIdentity.sessionContext.sessionIssuer.userName",
        "Deploy"
    )));
    assert!(hits(&sel(
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        "'false'"
    )));
    assert!(hits(&sel("eventTime|startswith", "'2024-07-01T10:00'")));
    assert!(!hits(&sel("eventName", "DeleteUser")));
    // An object of kept fields is its JSON text.
    assert!(hits(&sel(
        "userIdentity.sessionContext|contains",
        "'role/ops/Deploy'"
    )));
    assert!(!hits(&sel("userIdentity|contains", "'role/ops/Other'")));
}

/// "Null values": `field: null` matches a field that is absent or JSON null, not one with a
/// value.
#[test]
fn null_is_absent_or_json_null() {
    assert!(hits(&sel("errorCode", "null")));
    assert!(hits(&sel("additionalEventData", "null")));
    assert!(!hits(&sel("eventName", "null")));
    assert!(!hits(&sel("requestParameters.userName", "null")));
    assert!(hits(&sel("requestParameters.noSuchKey", "null")));
}

/// Plain values match case-insensitively, with `*` and `?` wildcards.
#[test]
fn case_insensitive_with_wildcards() {
    assert!(hits(&sel("eventName", "createuser")));
    assert!(hits(&sel("eventName", "Create?ser")));
    assert!(hits(&sel("eventName", "'*user'")));
    assert!(!hits(&sel("eventName", "Create?")));
}

/// "Lists": a field holding a JSON array matches when any element matches; also through an
/// array of objects (`containerDefinitions[].command[]`).
#[test]
fn arrays_match_any_element() {
    assert!(hits(&sel("requestParameters.tags", "backdoor")));
    assert!(!hits(&sel("requestParameters.tags", "c")));
    assert!(hits(&sel(
        "requestParameters.containerDefinitions.command|contains",
        "'$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'"
    )));
    assert!(hits(&sel("resources.type", "'AWS::IAM::User'")));
}

/// A value that is not a string is compared as its JSON text: numbers, booleans, and objects
/// (`responseElements|contains` looks inside the object).
#[test]
fn non_strings_as_json_text() {
    assert!(hits(&sel("requestParameters.port", "22")));
    assert!(hits(&sel("requestParameters.port", "'22'")));
    assert!(hits(&sel("requestParameters.enable", "'false'")));
    assert!(hits(&sel("readOnly", "'false'")));
    assert!(hits(&sel("responseElements|contains", "'user/eve'")));
    assert!(hits(&sel(
        "requestParameters|contains",
        "'\"userName\":\"eve\"'"
    )));
    assert!(hits(&sel("responseElements.user|contains", "'userName'")));
    assert!(!hits(&sel("responseElements|contains", "'user/mallory'")));
}

/// `|fieldref` compares with another field's value; a value that looks like a field name is
/// still a literal string.
#[test]
fn fieldref_and_literal_field_names() {
    assert!(hits(&sel(
        "requestParameters.target|fieldref",
        "userIdentity.arn"
    )));
    assert!(!hits(&sel(
        "requestParameters.userName|fieldref",
        "userIdentity.arn"
    )));
    assert!(!hits(&sel("requestParameters.userName", "eventName")));
}

/// Keyword rules look at every string of the record (kept columns and payloads).
#[test]
fn keywords_see_the_whole_record() {
    assert!(hits(
        "  keywords:\n    - '*169.254.170.2*'\n  condition: keywords"
    ));
    assert!(hits("  keywords:\n    - 'aws-cli*'\n  condition: keywords"));
    assert!(!hits(
        "  keywords:\n    - '*nothing-like-this*'\n  condition: keywords"
    ));
}

/// Rules for other log sources are skipped with the reason; a broken file is a problem that
/// does not stop the others; a field trailgraph does not keep is named.
#[test]
fn skipped_problems_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ok.yml"),
        rule(&sel("eventName", "CreateUser")),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("win.yaml"),
        "title: w\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    Image: x\n  condition: s\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.yml"), "title: [unclosed\n").unwrap();
    std::fs::write(
        dir.path().join("tls.yml"),
        rule(&sel("tlsDetails.tlsVersion", "'TLSv1'"))
            .replace("1111-111111111111", "1111-222222222222"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a rule").unwrap();
    let set = RuleSet::load(Rules::Paths(&[dir.path().to_path_buf()])).unwrap();
    assert_eq!(set.rules.len(), 2);
    assert_eq!(set.skipped.len(), 1);
    assert!(
        set.skipped[0].reason.contains("product: windows"),
        "{}",
        set.skipped[0]
    );
    assert_eq!(set.problems.len(), 1, "{:?}", set.problems);
    assert!(set.problems[0].file.ends_with("bad.yml"));
    assert_eq!(set.warnings.len(), 1);
    assert!(set.warnings[0].reason.contains("tlsDetails.tlsVersion"));
    // Nothing for CloudTrail at all: an error that says why.
    let win = dir.path().join("win.yaml");
    let e = RuleSet::load(Rules::Paths(&[win]))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("1 skipped"), "{e}");
}

/// The shipped rules all load, for CloudTrail, without problems, and credit their authors.
#[test]
fn shipped_rules_load() {
    let set = RuleSet::load(Rules::Shipped).unwrap();
    assert!(set.problems.is_empty(), "{:?}", set.problems);
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    assert!(set.rules.len() >= 39);
    assert!(
        set.rules.iter().all(|r| !r.author.is_empty()),
        "every rule names its author"
    );
}

/// The scan of the bundled real logs (3,518 events: Stratus detonations, incidents, exports).
fn real_scan() -> Scan {
    let real = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real");
    let loaded = load(&[real], &IngestOptions::default()).unwrap();
    Scan::memory(loaded.frames).unwrap()
}

/// The memo of evaluations gives every event the engine's own verdict (shipped rules, the
/// bundled real logs, twice over so that the second pass is answered from the tree), and it
/// does answer from the tree.
#[test]
fn memo_gives_the_engines_verdict() {
    let set = RuleSet::load(Rules::Shipped).unwrap();
    let scan = real_scan();
    let memo = memo::Memo::new();
    let (mut events, mut matched) = (0usize, 0usize);
    scan.for_each(&columns(&set), |slice| {
        let cols = record::Columns::new(slice.events)?;
        for _ in 0..2 {
            for i in 0..slice.height() {
                let direct = matches(&set, &record::Record::new(&cols, i));
                let memoised = memo.matches(&set, &record::Record::new(&cols, i));
                assert_eq!(memoised, direct, "row {i}");
                events += 1;
                matched += direct.len();
            }
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(events, 2 * 3518);
    assert!(matched > 100, "{matched}");
    // At least the whole second pass came from the tree.
    assert!(memo.answered() >= 3518, "{}", memo.answered());
}

/// A slice's hits kept as the pass keeps them (`kept::EventCols::encode`), read back (`kept::decode`) and
/// joined with their rules and attributions (`Hits::frame`) are `hits_frame`'s rows for the
/// same hits: every column, in order, with the same values.
#[test]
fn kept_hits_come_back_as_hits_frame() {
    let set = RuleSet::load(Rules::Shipped).unwrap();
    let scan = real_scan();
    let lookups = kept::Lookups::new(&scan, &set).unwrap();
    let mut checked = 0;
    scan.for_each(&columns(&set), |slice| {
        let cols = record::Columns::new(slice.events)?;
        let (hc, kept_cols) = (
            HitCols::new(slice.events)?,
            kept::EventCols::new(slice.events)?,
        );
        let (mut buf, mut ends) = (Vec::new(), Vec::new());
        let mut hits = Vec::new();
        for i in 0..slice.height() {
            for rule in matches(&set, &record::Record::new(&cols, i)) {
                kept_cols.encode(i, rule, slice.attribution(i), &mut buf);
                ends.push(buf.len());
                hits.push(hc.hit(i, rule, slice.attribution(i)));
            }
        }
        let (events, triples) = kept::decode(&buf, &ends)?;
        let presented = kept::Hits {
            events: &events,
            rules: &lookups.rules,
            attributions: &lookups.attributions,
            hits: &triples,
        };
        let names: Vec<&str> = presented
            .columns()?
            .iter()
            .map(|(_, c)| c.name().as_str())
            .collect();
        assert_eq!(names, hit_columns::ALL);
        let reference = hits_frame(&scan, &set, &hits)?;
        assert!(reference.height() > 100);
        let back = presented.frame()?;
        assert!(back.equals_missing(&reference), "{back}\n{reference}");
        checked += back.height();
        Ok(())
    })
    .unwrap();
    assert!(checked > 100);
}

/// The columns read are those that answer what the rules name: a kept field's column, the
/// raw payload for a path under it, the target of a `|fieldref`, the array of a `[any]` block;
/// every column for keywords and for an object of kept fields; none for a field not kept.
#[test]
fn columns_answer_what_the_rules_name() {
    let cols_of = |detection: &str| {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.yml");
        std::fs::write(&f, rule(detection)).unwrap();
        let set = RuleSet::load(Rules::Paths(&[f])).unwrap();
        assert!(set.problems.is_empty(), "{:?}", set.problems);
        record::columns_for(&set.needs)
    };
    let all = record::columns();
    let c = cols_of(&sel("eventName", "CreateUser"));
    assert_eq!(c, vec![ev::event_name]);
    let c = cols_of(
        "  sel:\n    eventSource: iam.amazonaws.com\n    requestParameters.userName|contains: eve\n  condition: sel",
    );
    assert_eq!(c, vec![ev::event_source, ev::request_parameters]);
    let c = cols_of(&sel(
        "userIdentity.arn|fieldref",
        "responseElements.user.arn",
    ));
    assert_eq!(c, vec![ev::identity_arn, ev::response_elements]);
    let c = cols_of("  sel:\n    - 'Backdoor'\n  condition: sel");
    assert_eq!(c, all);
    let c = cols_of(&sel("userIdentity.sessionContext|contains", "Deploy"));
    assert_eq!(c, all);
    let c = cols_of(&sel("tlsDetails.tlsVersion", "TLSv1"));
    assert!(c.is_empty(), "{c:?}");
    // The shipped rules need far fewer than every column.
    let shipped = RuleSet::load(Rules::Shipped).unwrap();
    let c = record::columns_for(&shipped.needs);
    assert!(c.len() < all.len() / 2, "{c:?}");
}

/// A kept hit with absent fields and no time comes back as such; a cut or overlong one is an
/// error, not a wrong row.
#[test]
fn kept_hit_nulls_and_damage() {
    let values = [Some("e-1"), None, Some(""), None, Some("eu-west-1"), None];
    let mut cols: Vec<Column> = kept::EVENT_STRINGS
        .iter()
        .zip(values)
        .map(|(name, v)| Column::new((*name).into(), [v]))
        .collect();
    cols.push(
        Column::new(ev::event_time.into(), [None::<i64>])
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap(),
    );
    let one = DataFrame::new(1, cols).unwrap();
    let mut buf = Vec::new();
    kept::EventCols::new(&one)
        .unwrap()
        .encode(0, 3, 7, &mut buf);
    let (events, hits) = kept::decode(&buf, &[buf.len()]).unwrap();
    assert_eq!(hits, vec![(3, 0, 7)]);
    assert_eq!(
        events.column(ev::event_id).unwrap().str().unwrap().get(0),
        Some("e-1")
    );
    assert_eq!(
        events.column(ev::event_name).unwrap().str().unwrap().get(0),
        None
    );
    assert_eq!(
        events
            .column(ev::event_source)
            .unwrap()
            .str()
            .unwrap()
            .get(0),
        Some("")
    );
    assert_eq!(
        events
            .column(ev::event_time)
            .unwrap()
            .datetime()
            .unwrap()
            .physical()
            .get(0),
        None
    );
    assert!(kept::decode(&buf[..buf.len() - 1], &[buf.len() - 1]).is_err());
    let mut longer = buf.clone();
    longer.push(0);
    assert!(kept::decode(&longer, &[longer.len()]).is_err());
}
