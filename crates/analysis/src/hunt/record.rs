//! One row of the events table as a Sigma rule sees it: the CloudTrail record, by its JSON
//! paths (`eventName`, `userIdentity.sessionContext.sessionIssuer.userName`,
//! `requestParameters.bucketName`, …).
//!
//! Fields the case keeps as typed columns are read from them (the hot path: the rule index
//! probes `eventName` and `eventSource` of every event). The payload objects
//! (`requestParameters`, `responseElements`, `additionalEventData`, `serviceEventDetails`,
//! `resources`) are kept as raw JSON text and parsed only when a rule looks inside one, once
//! per record. What the Sigma specification asks where evaluators differ:
//! - an absent field and a JSON null are both "null" (`field: null` matches either);
//! - a field holding an array matches when any element matches (rsigma's matcher);
//! - a value that is not a string is compared as its JSON text: numbers and booleans by
//!   rsigma's coercion, objects (and objects inside arrays) as their JSON text here, so
//!   `responseElements|contains: 'masterUserPassword'` looks inside the object.
//!
//! Fields trailgraph does not keep (`tlsDetails`, `vpcEndpointId`, `edgeDeviceDetails`, …) are
//! absent; `unkept_fields` names them for the rules that use them.

use super::rules::Needs;
use anyhow::Result;
use polars::prelude::*;
use rsigma_eval::event::{Event, EventValue, JsonEvent};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::sync::LazyLock;
use trailgraph_log::model::format_time;
use trailgraph_log::table::event as ev;

/// How a CloudTrail field is kept.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A string column.
    Str,
    /// A datetime column, shown as CloudTrail writes it (`2024-07-01T10:00:00Z`).
    Time,
    /// A boolean column of a field CloudTrail writes as a JSON boolean.
    Bool,
    /// A boolean column of a field CloudTrail writes as the text "true"/"false"
    /// (`mfaAuthenticated`, `sessionCredentialFromConsole`).
    BoolText,
    /// `sessionIssuer.userName`: the last part of the issuer's ARN (the role or user name).
    IssuerName,
    /// A payload object kept as raw JSON text; the number is its parse slot.
    Raw(usize),
}

/// Every CloudTrail field the events table keeps: its JSON path, its column, its kind.
const FIELDS: &[(&str, &str, Kind)] = &[
    ("eventVersion", ev::event_version, Kind::Str),
    ("eventTime", ev::event_time, Kind::Time),
    ("eventName", ev::event_name, Kind::Str),
    ("eventSource", ev::event_source, Kind::Str),
    ("eventType", ev::event_type, Kind::Str),
    ("eventCategory", ev::event_category, Kind::Str),
    ("awsRegion", ev::aws_region, Kind::Str),
    ("recipientAccountId", ev::recipient_account, Kind::Str),
    ("sourceIPAddress", ev::source_ip, Kind::Str),
    ("userAgent", ev::user_agent, Kind::Str),
    ("errorCode", ev::error_code, Kind::Str),
    ("errorMessage", ev::error_message, Kind::Str),
    ("readOnly", ev::read_only, Kind::Bool),
    ("managementEvent", ev::management_event, Kind::Bool),
    ("requestID", ev::request_id, Kind::Str),
    ("eventID", ev::event_id, Kind::Str),
    ("sharedEventID", ev::shared_event_id, Kind::Str),
    (
        "sessionCredentialFromConsole",
        ev::session_credential_from_console,
        Kind::BoolText,
    ),
    ("userIdentity.type", ev::identity_type, Kind::Str),
    ("userIdentity.arn", ev::identity_arn, Kind::Str),
    ("userIdentity.principalId", ev::principal_id, Kind::Str),
    ("userIdentity.accountId", ev::identity_account, Kind::Str),
    ("userIdentity.accessKeyId", ev::access_key_id, Kind::Str),
    ("userIdentity.userName", ev::user_name, Kind::Str),
    ("userIdentity.invokedBy", ev::invoked_by, Kind::Str),
    (
        "userIdentity.identityProvider",
        ev::identity_provider,
        Kind::Str,
    ),
    ("userIdentity.credentialId", ev::credential_id, Kind::Str),
    (
        "userIdentity.sessionContext.sessionIssuer.type",
        ev::issuer_type,
        Kind::Str,
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.arn",
        ev::issuer_arn,
        Kind::Str,
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.accountId",
        ev::issuer_account,
        Kind::Str,
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.principalId",
        ev::issuer_principal_id,
        Kind::Str,
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.userName",
        ev::issuer_arn,
        Kind::IssuerName,
    ),
    (
        "userIdentity.sessionContext.attributes.creationDate",
        ev::creation_date,
        Kind::Time,
    ),
    (
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        ev::mfa_authenticated,
        Kind::BoolText,
    ),
    (
        "userIdentity.sessionContext.sourceIdentity",
        ev::source_identity,
        Kind::Str,
    ),
    (
        "userIdentity.sessionContext.ec2RoleDelivery",
        ev::ec2_role_delivery,
        Kind::Str,
    ),
    (
        "userIdentity.sessionContext.assumedRoot",
        ev::assumed_root,
        Kind::BoolText,
    ),
    (
        "userIdentity.sessionContext.webIdFederationData.federatedProvider",
        ev::web_id_provider,
        Kind::Str,
    ),
    (
        "userIdentity.onBehalfOf.userId",
        ev::on_behalf_of_user_id,
        Kind::Str,
    ),
    (
        "userIdentity.onBehalfOf.identityStoreArn",
        ev::on_behalf_of_store_arn,
        Kind::Str,
    ),
    (
        "userIdentity.inScopeOf.credentialsIssuedTo",
        ev::in_scope_of_issued_to,
        Kind::Str,
    ),
    ("requestParameters", ev::request_parameters, Kind::Raw(0)),
    ("responseElements", ev::response_elements, Kind::Raw(1)),
    (
        "additionalEventData",
        ev::additional_event_data,
        Kind::Raw(2),
    ),
    (
        "serviceEventDetails",
        ev::service_event_details,
        Kind::Raw(3),
    ),
    ("resources", ev::resources, Kind::Raw(4)),
];
const RAW_SLOTS: usize = 5;

/// `FIELDS` by path: the index of each field, and the roots of every path (the first part).
struct Index {
    field: FxHashMap<&'static str, usize>,
    /// Paths that are objects of kept fields (`userIdentity`, `userIdentity.sessionContext`, …).
    objects: FxHashSet<&'static str>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let field = FIELDS.iter().enumerate().map(|(k, f)| (f.0, k)).collect();
    let mut objects = FxHashSet::default();
    for (p, _, _) in FIELDS {
        let mut at = 0;
        while let Some(dot) = p[at..].find('.') {
            objects.insert(&p[..at + dot]);
            at += dot + 1;
        }
    }
    Index { field, objects }
});

/// The events columns a record is built from.
pub(crate) fn columns() -> Vec<&'static str> {
    let mut c: Vec<&str> = FIELDS.iter().map(|f| f.1).collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// The events columns that answer the fields `needs` names: a kept field's column, a payload's
/// raw column for a path under it; every column for the whole record or an object of kept
/// fields (`userIdentity`, …), which is built from all of them. Fields not kept need none.
pub(crate) fn columns_for(needs: &Needs) -> Vec<&'static str> {
    let Needs::Paths(paths) = needs else {
        return columns();
    };
    let ix = &*INDEX;
    let mut c: Vec<&str> = Vec::new();
    for p in paths {
        if let Some(&f) = ix.field.get(p.as_str()) {
            c.push(FIELDS[f].1);
        } else if ix.objects.contains(p.as_str()) {
            return columns();
        } else if let Some(&f) = ix.field.get(split(p).0) {
            if matches!(FIELDS[f].2, Kind::Raw(_)) {
                c.push(FIELDS[f].1);
            }
        }
    }
    c.sort_unstable();
    c.dedup();
    c
}

/// Is `path` a field the record has (kept, under a payload object, or an object of kept
/// fields such as `userIdentity.sessionContext`)? Rules naming other fields are told so.
pub(crate) fn is_kept(path: &str) -> bool {
    let (root, _) = split(path);
    let ix = &*INDEX;
    ix.field.contains_key(path)
        || ix.objects.contains(path)
        || ix
            .field
            .get(root)
            .is_some_and(|&f| matches!(FIELDS[f].2, Kind::Raw(_)))
}

fn split(path: &str) -> (&str, Option<&str>) {
    match path.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (path, None),
    }
}

enum Col<'a> {
    /// Not read (no rule asks for it): absent.
    Unread,
    Str(&'a StringChunked),
    Time(&'a Int64Chunked),
    Bool(&'a BooleanChunked),
}

/// The columns of one slice of events, in `FIELDS` order.
pub(crate) struct Columns<'a> {
    cols: Vec<Col<'a>>,
}

impl<'a> Columns<'a> {
    pub fn new(df: &'a DataFrame) -> Result<Columns<'a>> {
        let cols = FIELDS
            .iter()
            .map(|(_, name, kind)| {
                let Ok(c) = df.column(name) else {
                    return Ok(Col::Unread);
                };
                Ok(match kind {
                    Kind::Time => Col::Time(c.datetime()?.physical()),
                    Kind::Bool | Kind::BoolText => Col::Bool(c.bool()?),
                    _ => Col::Str(c.str()?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Columns { cols })
    }

    fn str(&self, f: usize, row: usize) -> Option<&'a str> {
        match self.cols[f] {
            Col::Str(c) => c.get(row),
            _ => None,
        }
    }

    /// The value of field `f` (not a payload) at `row`; None when absent.
    fn value(&self, f: usize, row: usize) -> Option<EventValue<'a>> {
        let kind = FIELDS[f].2;
        match (&self.cols[f], kind) {
            (Col::Str(c), Kind::IssuerName) => {
                let arn = c.get(row)?;
                let (_, name) = arn.rsplit_once('/')?;
                Some(EventValue::Str(Cow::Borrowed(name)))
            }
            (Col::Str(c), _) => c.get(row).map(|s| EventValue::Str(Cow::Borrowed(s))),
            (Col::Time(c), _) => c
                .get(row)
                .map(|ms| EventValue::Str(Cow::Owned(format_time(ms)))),
            (Col::Bool(c), Kind::BoolText) => c
                .get(row)
                .map(|b| EventValue::Str(Cow::Borrowed(if b { "true" } else { "false" }))),
            (Col::Bool(c), _) => c.get(row).map(EventValue::Bool),
            (Col::Unread, _) => None,
        }
    }
}

/// One record: row `row` of a slice's `Columns`.
pub(crate) struct Record<'c, 'a> {
    cols: &'c Columns<'a>,
    row: usize,
    /// Each payload object, parsed on first use (None: absent, null or not JSON).
    raw: [OnceCell<Option<JsonEvent<'static>>>; RAW_SLOTS],
    /// The whole record as JSON, built on first use (keyword rules, objects of kept fields).
    whole: OnceCell<JsonEvent<'static>>,
}

impl<'c, 'a> Record<'c, 'a> {
    pub fn new(cols: &'c Columns<'a>, row: usize) -> Self {
        Record {
            cols,
            row,
            raw: Default::default(),
            whole: OnceCell::new(),
        }
    }

    fn raw_text(&self, f: usize) -> Option<&'a str> {
        self.cols.str(f, self.row)
    }

    /// Payload `f` parsed, as `{"<its name>": value}` (so that a path from the record's root
    /// walks into it, arrays included).
    fn parsed(&self, f: usize, slot: usize) -> Option<&JsonEvent<'static>> {
        self.raw[slot]
            .get_or_init(|| {
                let text = self.raw_text(f)?;
                match serde_json::from_str::<Value>(text).ok()? {
                    Value::Null => None,
                    v => {
                        let mut m = serde_json::Map::new();
                        m.insert(FIELDS[f].0.to_string(), v);
                        Some(JsonEvent::owned(Value::Object(m)))
                    }
                }
            })
            .as_ref()
    }

    fn whole(&self) -> &JsonEvent<'static> {
        self.whole.get_or_init(|| JsonEvent::owned(self.build()))
    }

    /// The record as JSON: every kept field at its path.
    fn build(&self) -> Value {
        let mut root = serde_json::Map::new();
        for (f, (path, _, kind)) in FIELDS.iter().enumerate() {
            let v = match kind {
                Kind::Raw(slot) => match self.parsed(f, *slot).and_then(|j| j.get_field(path)) {
                    Some(v) => v.to_json(),
                    None => continue,
                },
                _ => match self.cols.value(f, self.row) {
                    Some(v) => v.to_json(),
                    None => continue,
                },
            };
            let mut at = &mut root;
            let mut parts = path.split('.').peekable();
            while let Some(p) = parts.next() {
                if parts.peek().is_none() {
                    at.insert(p.to_string(), v);
                    break;
                }
                let next = at
                    .entry(p.to_string())
                    .or_insert_with(|| Value::Object(Default::default()));
                match next {
                    Value::Object(m) => at = m,
                    _ => break,
                }
            }
        }
        Value::Object(root)
    }
}

/// A value as Sigma compares it: objects (also inside arrays) as their JSON text.
fn comparable(v: EventValue<'_>) -> EventValue<'_> {
    match v {
        EventValue::Map(_) => EventValue::Str(Cow::Owned(v.to_json().to_string())),
        EventValue::Array(a) => EventValue::Array(
            a.into_iter()
                .map(|e| match e {
                    EventValue::Map(_) | EventValue::Array(_) => {
                        EventValue::Str(Cow::Owned(e.to_json().to_string()))
                    }
                    e => e,
                })
                .collect(),
        ),
        v => v,
    }
}

impl Record<'_, '_> {
    /// Field `f` of `FIELDS` (`kept_field` of its path): what `get_field` gives for its path.
    pub(crate) fn get_kept(&self, f: usize) -> Option<EventValue<'_>> {
        match FIELDS[f].2 {
            Kind::Raw(_) => {
                let text = self.raw_text(f)?;
                match text.as_bytes().first() {
                    // An object is compared as its text, as logged.
                    Some(b'{') => Some(EventValue::Str(Cow::Borrowed(text))),
                    // An array (`resources`) or a scalar: by value, objects as text.
                    _ => serde_json::from_str::<Value>(text)
                        .ok()
                        .map(|v| owned_value(&v)),
                }
            }
            _ => self.cols.value(f, self.row),
        }
    }
}

/// The index in `FIELDS` of the kept field at `path` (None: under a payload, an object of
/// kept fields, or not kept).
pub(crate) fn kept_field(path: &str) -> Option<usize> {
    INDEX.field.get(path).copied()
}

/// How often a field's value repeats across events, which decides how the rules that name it
/// are evaluated (see `memo`): `Few` (event names, sources, identity types, agents…),
/// `PerSession` (ARNs and ids of sessions and keys, addresses), `PerEvent` (ids and times of
/// the event). A rule goes by the most varied field it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Varies {
    Few,
    PerSession,
    PerEvent,
}

const PER_SESSION: &[&str] = &[
    "sourceIPAddress",
    "userIdentity.arn",
    "userIdentity.principalId",
    "userIdentity.accessKeyId",
    "userIdentity.sessionContext.attributes.creationDate",
    "userIdentity.sessionContext.sourceIdentity",
];

const PER_EVENT: &[&str] = &["eventID", "eventTime", "requestID", "sharedEventID"];

/// How often the values of the field at `path` repeat.
pub(crate) fn varies(path: &str) -> Varies {
    if PER_EVENT.contains(&path) {
        Varies::PerEvent
    } else if PER_SESSION.contains(&path) {
        Varies::PerSession
    } else {
        Varies::Few
    }
}

impl Event for Record<'_, '_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        let ix = &*INDEX;
        if let Some(&f) = ix.field.get(path) {
            return self.get_kept(f);
        }
        let (root, rest) = split(path);
        if rest.is_some() {
            if let Some(&f) = ix.field.get(root) {
                if let Kind::Raw(slot) = FIELDS[f].2 {
                    return self.parsed(f, slot)?.get_field(path).map(comparable);
                }
            }
        }
        // An object of kept fields (`userIdentity`, `userIdentity.sessionContext`, …).
        if ix.objects.contains(path) {
            return self.whole().get_field(path).map(comparable);
        }
        None
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.whole().any_string_value(pred)
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.whole().all_string_values()
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.whole().visit_string_values(visit)
    }

    fn to_json(&self) -> Value {
        self.build()
    }
}

/// A JSON value as Sigma compares it (objects as their JSON text).
fn owned_value(v: &Value) -> EventValue<'static> {
    match v {
        Value::String(s) => EventValue::Str(Cow::Owned(s.clone())),
        Value::Number(n) => match n.as_i64() {
            Some(i) => EventValue::Int(i),
            None => EventValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::Bool(b) => EventValue::Bool(*b),
        Value::Null => EventValue::Null,
        Value::Array(a) => EventValue::Array(a.iter().map(owned_value).collect()),
        Value::Object(_) => EventValue::Str(Cow::Owned(v.to_string())),
    }
}
