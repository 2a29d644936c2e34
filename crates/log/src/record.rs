//! The CloudTrail wire schema and the document walker: bytes → a stream of records.
//!
//! This is the only module that knows CloudTrail field names (spec 2.2, 2.3) and container shapes
//! (spec 2.1.2). Every field is optional and type-lenient: a string where a bool was expected, a
//! number where a string was expected, `null` vs absent vs `{}`, unknown fields — none of these
//! is an error. The only hard errors are JSON syntax errors, which the walker turns into
//! problems with a position and then resynchronises where the shape allows (NDJSON lines).
//!
//! Records are handed to a callback as soon as they are parsed, borrowing from the input buffer,
//! so a file is never held twice in memory and `serde_json::Value` never appears on the hot path.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A string field that accepts a JSON string, number or bool (kept as text); anything else
/// (null, object, array) is treated as absent.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct LStr<'a>(pub Option<Cow<'a, str>>);

impl<'a> LStr<'a> {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
    /// The value, treating the empty string as absent (CloudTrail writes `""` for redacted keys).
    pub(crate) fn non_empty(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

impl<'de> Deserialize<'de> for LStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Owned(v))))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(LStr(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(LStr(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A boolean flag that accepts `true`, `"true"`, `"TRUE"`, `1`, … ; anything unrecognised is absent.
#[derive(Default, Debug, Clone, Copy, PartialEq)]
pub struct LBool(pub Option<bool>);

impl<'de> Deserialize<'de> for LBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = LStr::deserialize(d)?;
        Ok(LBool(s.get().and_then(|v| {
            if v.eq_ignore_ascii_case("true") || v == "1" {
                Some(true)
            } else if v.eq_ignore_ascii_case("false") || v == "0" {
                Some(false)
            } else {
                None
            }
        })))
    }
}

/// A container key's value: absent, present but `null`, or present with raw JSON.
#[derive(Default, Debug, Clone, Copy)]
pub enum Probe<'a> {
    #[default]
    Absent,
    Null,
    Raw(&'a RawValue),
}

impl<'a> Probe<'a> {
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Probe::Absent)
    }
}

impl<'de> Deserialize<'de> for Probe<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<&'de RawValue>::deserialize(d)? {
            Some(r) => Probe::Raw(r),
            None => Probe::Null,
        })
    }
}

/// A map key that borrows when it can (keys with escapes are rare but legal).
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// How a field of a lenient struct is read from its value in the map: scalars by value, nested
/// structs in place (see `InPlace`).
trait Field<'de> {
    fn take<A: MapAccess<'de>>(&mut self, m: &mut A) -> Result<(), A::Error>;
}

macro_rules! field_by_value {
    ($($t:ty),*) => {$(
        impl<'de> Field<'de> for $t {
            #[inline]
            fn take<A: MapAccess<'de>>(&mut self, m: &mut A) -> Result<(), A::Error> {
                *self = m.next_value()?;
                Ok(())
            }
        }
    )*};
}

field_by_value!(
    LStr<'de>,
    LBool,
    Option<&'de RawValue>,
    Probe<'de>,
    Option<IgnoredAny>
);

/// A lenient struct filled from a JSON value where it lies (see `lenient_struct`).
trait Fill<'de> {
    fn fill<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error>;
}

/// Reads an optional nested struct straight into its field: `null` is None, anything else is
/// a fresh default filled in place (a non-object leaves it with `is_object == false`), exactly
/// what deserializing an `Option<T>` and assigning it gives, without building the struct (the
/// user identity with its session context: several hundred bytes) on the stack and moving it
/// into the record, a copy per level, per record.
struct InPlace<'s, T>(&'s mut Option<T>);

impl<'de, T: Fill<'de> + Default> DeserializeSeed<'de> for InPlace<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, T: Fill<'de> + Default> Visitor<'de> for InPlace<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_none<E>(self) -> Result<(), E> {
        *self.0 = None;
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        *self.0 = None;
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.insert(T::default()).fill(d)
    }
}

/// Declares a lenient struct: fields matched by JSON key (last one wins on duplicates), unknown
/// keys skipped, and a non-object value yields the default (with `is_object == false`).
macro_rules! lenient_struct {
    ($(#[$m:meta])* $name:ident { $($field:ident : $ty:ty = $key:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Default, Debug)]
        pub struct $name<'a> {
            /// False when the JSON value was not an object.
            pub is_object: bool,
            $(pub $field: $ty,)*
            #[doc(hidden)]
            pub _p: std::marker::PhantomData<&'a ()>,
        }

        impl<'de> $name<'de> {
            /// Reads the value of `key` from the map into its field (or skips it).
            #[allow(dead_code)]
            fn take_field<A: MapAccess<'de>>(&mut self, key: &str, m: &mut A) -> Result<(), A::Error> {
                match key {
                    $($key => Field::take(&mut self.$field, m)?,)*
                    _ => { m.next_value::<IgnoredAny>()?; }
                }
                Ok(())
            }
        }

        impl<'de> Fill<'de> for $name<'de> {
            fn fill<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
                struct V<'s, 'de>(&'s mut $name<'de>);
                impl<'de> Visitor<'de> for V<'_, 'de> {
                    type Value = ();
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
                        self.0.is_object = true;
                        while let Some(k) = m.next_key::<Key<'de>>()? {
                            self.0.take_field(&k.0, &mut m)?;
                        }
                        Ok(())
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<(), A::Error> {
                        while s.next_element::<IgnoredAny>()?.is_some() {}
                        Ok(())
                    }
                    fn visit_bool<E>(self, _: bool) -> Result<(), E> { Ok(()) }
                    fn visit_i64<E>(self, _: i64) -> Result<(), E> { Ok(()) }
                    fn visit_u64<E>(self, _: u64) -> Result<(), E> { Ok(()) }
                    fn visit_f64<E>(self, _: f64) -> Result<(), E> { Ok(()) }
                    fn visit_str<E>(self, _: &str) -> Result<(), E> { Ok(()) }
                    fn visit_unit<E>(self) -> Result<(), E> { Ok(()) }
                    fn visit_none<E>(self) -> Result<(), E> { Ok(()) }
                }
                d.deserialize_any(V(self))
            }
        }

        impl<'de> Field<'de> for Option<$name<'de>> {
            fn take<A: MapAccess<'de>>(&mut self, m: &mut A) -> Result<(), A::Error> {
                m.next_value_seed(InPlace(self))
            }
        }

        impl<'de> Deserialize<'de> for $name<'de> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let mut out = $name::default();
                out.fill(d)?;
                Ok(out)
            }
        }
    };
}

lenient_struct!(
    /// `userIdentity.sessionContext.sessionIssuer`
    RawIssuer {
        kind: LStr<'a> = "type",
        principal_id: LStr<'a> = "principalId",
        arn: LStr<'a> = "arn",
        account_id: LStr<'a> = "accountId",
        user_name: LStr<'a> = "userName",
    }
);

lenient_struct!(
    /// `userIdentity.sessionContext.attributes`
    RawAttributes {
        creation_date: LStr<'a> = "creationDate",
        mfa_authenticated: LBool = "mfaAuthenticated",
    }
);

lenient_struct!(
    /// `userIdentity.sessionContext.webIdFederationData`
    RawWebId {
        federated_provider: LStr<'a> = "federatedProvider",
    }
);

lenient_struct!(
    /// `userIdentity.sessionContext`
    RawSessionContext {
        session_issuer: Option<RawIssuer<'a>> = "sessionIssuer",
        attributes: Option<RawAttributes<'a>> = "attributes",
        web_id: Option<RawWebId<'a>> = "webIdFederationData",
        source_identity: LStr<'a> = "sourceIdentity",
        ec2_role_delivery: LStr<'a> = "ec2RoleDelivery",
        assumed_root: LBool = "assumedRoot",
    }
);

lenient_struct!(
    /// `userIdentity.onBehalfOf`
    RawOnBehalfOf {
        user_id: LStr<'a> = "userId",
        identity_store_arn: LStr<'a> = "identityStoreArn",
    }
);

lenient_struct!(
    /// `userIdentity.inScopeOf`
    RawInScopeOf {
        issuer_type: LStr<'a> = "issuerType",
        credentials_issued_to: LStr<'a> = "credentialsIssuedTo",
    }
);

lenient_struct!(
    /// `userIdentity` (spec 2.3.1)
    RawIdentity {
        kind: LStr<'a> = "type",
        principal_id: LStr<'a> = "principalId",
        arn: LStr<'a> = "arn",
        account_id: LStr<'a> = "accountId",
        access_key_id: LStr<'a> = "accessKeyId",
        user_name: LStr<'a> = "userName",
        invoked_by: LStr<'a> = "invokedBy",
        identity_provider: LStr<'a> = "identityProvider",
        credential_id: LStr<'a> = "credentialId",
        session_context: Option<RawSessionContext<'a>> = "sessionContext",
        on_behalf_of: Option<RawOnBehalfOf<'a>> = "onBehalfOf",
        in_scope_of: Option<RawInScopeOf<'a>> = "inScopeOf",
    }
);

lenient_struct!(
    /// One CloudTrail record (spec 2.2) — or one of the containers that carry records (spec
    /// 2.1.2): the container probes at the end are absent from real records and cheap to check.
    RawRecord {
        event_version: LStr<'a> = "eventVersion",
        event_time: LStr<'a> = "eventTime",
        at_timestamp: LStr<'a> = "@timestamp",
        event_source: LStr<'a> = "eventSource",
        event_name: LStr<'a> = "eventName",
        aws_region: LStr<'a> = "awsRegion",
        source_ip: LStr<'a> = "sourceIPAddress",
        user_agent: LStr<'a> = "userAgent",
        error_code: LStr<'a> = "errorCode",
        error_message: LStr<'a> = "errorMessage",
        request_parameters: Option<&'a RawValue> = "requestParameters",
        response_elements: Option<&'a RawValue> = "responseElements",
        additional_event_data: Option<&'a RawValue> = "additionalEventData",
        service_event_details: Option<&'a RawValue> = "serviceEventDetails",
        request_id: LStr<'a> = "requestID",
        event_id: LStr<'a> = "eventID",
        shared_event_id: LStr<'a> = "sharedEventID",
        read_only: LBool = "readOnly",
        event_type: LStr<'a> = "eventType",
        event_category: LStr<'a> = "eventCategory",
        management_event: LBool = "managementEvent",
        recipient_account: LStr<'a> = "recipientAccountId",
        session_credential_from_console: LBool = "sessionCredentialFromConsole",
        user_identity: Option<RawIdentity<'a>> = "userIdentity",
        // --- container probes (spec 2.1.2) ---
        c_records: Probe<'a> = "Records",
        c_events: Probe<'a> = "Events",
        c_cloudtrail_event: Probe<'a> = "CloudTrailEvent",
        c_detail: Probe<'a> = "detail",
        c_detail_type: LStr<'a> = "detail-type",
        c_log_events: Probe<'a> = "logEvents",
        c_message: Probe<'a> = "message",
        c_raw: Probe<'a> = "_raw",
        c_digest_start: Option<IgnoredAny> = "digestStartTime",
        c_log_files: Option<IgnoredAny> = "logFiles",
        c_config_check: Option<IgnoredAny> = "configurationItems",
    }
);

impl<'a> RawRecord<'a> {
    /// Does this object look like a CloudTrail event record?
    pub fn is_event(&self) -> bool {
        self.event_name.get().is_some()
            || self.event_source.get().is_some()
            || (self.event_id.get().is_some()
                && (self.event_time.get().is_some() || self.user_identity.is_some()))
    }
    pub(crate) fn is_insight(&self) -> bool {
        self.event_type.get() == Some("AwsCloudTrailInsight")
            || self.event_category.get() == Some("Insight")
    }
}

// ---------------------------------------------------------------------------------------------
// Payload structures, parsed lazily from the raw requestParameters / responseElements JSON of
// issuance events only (spec 2.4).

lenient_struct!(RawTaskPolicy { arn: LStr<'a> = "arn" });

lenient_struct!(
    /// `requestParameters` of the STS issuance calls.
    RawStsRequest {
        role_arn: LStr<'a> = "roleArn",
        role_session_name: LStr<'a> = "roleSessionName",
        external_id: LStr<'a> = "externalId",
        serial_number: LStr<'a> = "serialNumber",
        duration_seconds: LStr<'a> = "durationSeconds",
        source_identity: LStr<'a> = "sourceIdentity",
        principal_arn: LStr<'a> = "principalArn",
        name: LStr<'a> = "name",
        target_principal: LStr<'a> = "targetPrincipal",
        task_policy_arn: Option<RawTaskPolicy<'a>> = "taskPolicyArn",
    }
);

lenient_struct!(RawCredentials {
    access_key_id: LStr<'a> = "accessKeyId",
    expiration: LStr<'a> = "expiration",
});

lenient_struct!(RawAssumedRoleUser {
    arn: LStr<'a> = "arn",
    assumed_role_id: LStr<'a> = "assumedRoleId",
});

lenient_struct!(RawFederatedUser {
    arn: LStr<'a> = "arn",
    federated_user_id: LStr<'a> = "federatedUserId",
});

lenient_struct!(
    /// `responseElements` of the STS issuance calls.
    RawStsResponse {
        credentials: Option<RawCredentials<'a>> = "credentials",
        assumed_role_user: Option<RawAssumedRoleUser<'a>> = "assumedRoleUser",
        federated_user: Option<RawFederatedUser<'a>> = "federatedUser",
        source_identity: LStr<'a> = "sourceIdentity",
        subject: LStr<'a> = "subject",
        subject_type: LStr<'a> = "subjectType",
        issuer: LStr<'a> = "issuer",
        audience: LStr<'a> = "audience",
        name_qualifier: LStr<'a> = "nameQualifier",
        subject_from_web_identity_token: LStr<'a> = "subjectFromWebIdentityToken",
        provider: LStr<'a> = "provider",
    }
);

lenient_struct!(
    /// `additionalEventData` fields used for linking.
    RawAdditional {
        switch_from: LStr<'a> = "SwitchFrom",
    }
);

lenient_struct!(
    /// `serviceEventDetails` of Identity Center GetRoleCredentials / Federate.
    RawServiceDetails {
        account_id: LStr<'a> = "account_id",
        role_name: LStr<'a> = "role_name",
    }
);

lenient_struct!(
    /// `requestParameters` of IAM access-key calls (UpdateAccessKey, DeleteAccessKey).
    RawKeyRequest {
        access_key_id: LStr<'a> = "accessKeyId",
        status: LStr<'a> = "status",
        user_name: LStr<'a> = "userName",
    }
);

/// Parses an optional raw JSON payload into a lenient struct; malformed input yields the default.
pub fn payload<'a, T: Deserialize<'a> + Default>(raw: Option<&'a RawValue>) -> T {
    raw.and_then(|r| serde_json::from_str::<T>(r.get()).ok())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The document walker.

/// What the walker found in one item position.
pub enum Item<'r, 'a> {
    /// A CloudTrail event record.
    Record(&'r RawRecord<'a>),
    /// A record position holding something that is not a CloudTrail event (reason given).
    NotRecord(&'static str),
}

/// A problem the walker met while reading a document: where, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseProblem {
    pub position: String,
    pub reason: String,
}

/// Summary of walking one decoded document.
#[derive(Debug, Default)]
pub struct WalkStats {
    /// Record positions handed to the callback (`Item::Record` + `Item::NotRecord`).
    pub items: u64,
    /// Objects that were neither an event nor a container, at a level where it is not yet known
    /// whether the document is CloudTrail at all. The caller counts them as skipped records if
    /// the document held CloudTrail content, otherwise the document is not CloudTrail.
    pub stray_objects: u64,
    /// Saw a `Records` array (even an empty one): the document is CloudTrail.
    pub saw_container: bool,
    /// Saw a CloudTrail digest object (spec 2.1.1): the document is a digest file.
    pub saw_digest: bool,
    /// Saw a Config writability check or configuration snapshot object.
    pub saw_config: bool,
    /// Parsing stopped early: the rest of the document could not be read.
    pub truncated: bool,
    pub problems: Vec<ParseProblem>,
}

const MAX_NESTING: u8 = 6;

/// Longest NDJSON line accepted as one record or envelope. CloudTrail events are at most
/// 256 KB (spec 2.2); lines holding a whole `{"Records":[…]}` batch are exempt.
pub(crate) const MAX_LINE_BYTES: usize = 16 << 20;

/// Walks a decoded document of any supported shape and calls `emit` for every record position,
/// in document order. Never fails: syntax errors become problems in the returned stats.
pub fn walk(buf: &[u8], emit: &mut dyn FnMut(Item<'_, '_>)) -> WalkStats {
    let mut w = Walker {
        emit,
        stats: WalkStats::default(),
    };
    let buf = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf);
    w.walk_stream(buf, 0);
    w.stats
}

struct Walker<'e> {
    emit: &'e mut dyn FnMut(Item<'_, '_>),
    stats: WalkStats,
}

/// Byte offset of 1-based (line, column) as serde_json reports it, relative to `buf`.
fn offset_of(buf: &[u8], line: usize, column: usize) -> usize {
    let start = if line <= 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', buf)
            .nth(line - 2)
            .map(|p| p + 1)
            .unwrap_or(buf.len())
    };
    (start + column.saturating_sub(1)).min(buf.len())
}

fn next_line_start(buf: &[u8], from: usize) -> usize {
    match memchr::memchr(b'\n', &buf[from.min(buf.len())..]) {
        Some(p) => from + p + 1,
        None => buf.len(),
    }
}

fn skip_ws(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() && matches!(buf[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

fn line_number(buf: &[u8], offset: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', &buf[..offset.min(buf.len())]).count()
}

impl<'e> Walker<'e> {
    /// Parses a sequence of whitespace-separated JSON values (one document, NDJSON, or
    /// concatenated documents). After a syntax error in a multi-value stream, resumes at the
    /// next line; in a single document, stops there.
    fn walk_stream(&mut self, buf: &[u8], depth: u8) {
        let text = std::str::from_utf8(buf).ok();
        let mut off = skip_ws(buf, 0);
        let mut values = 0u64;
        while off < buf.len() {
            if values > 0 || self.looks_like_ndjson(buf, off) {
                let line_end = next_line_start(buf, off);
                let line = &buf[off..line_end];
                if line.len() > MAX_LINE_BYTES && !line.starts_with(b"{\"Records\"") {
                    self.stats.problems.push(ParseProblem {
                        position: format!("line {}", line_number(buf, off)),
                        reason: format!(
                            "line of {} bytes skipped: larger than {} bytes (CloudTrail events are at most 256 KB)",
                            line.len(),
                            MAX_LINE_BYTES
                        ),
                    });
                    (self.emit)(Item::NotRecord("line too long"));
                    self.stats.items += 1;
                    values += 1;
                    off = skip_ws(buf, line_end);
                    continue;
                }
            }
            let seed = ItemSeed {
                w: self,
                depth,
                in_records: false,
            };
            // Valid UTF-8 was checked once for the whole buffer: the `str` reader then skips
            // the per-string check. Otherwise the byte reader finds the bad line.
            let res = match text {
                Some(t) => {
                    let mut de = serde_json::Deserializer::from_str(&t[off..]);
                    seed.deserialize(&mut de).and_then(|_| de.end())
                }
                None => {
                    let mut de = serde_json::Deserializer::from_slice(&buf[off..]);
                    seed.deserialize(&mut de).and_then(|_| de.end())
                }
            };
            match res {
                Ok(()) => return,
                Err(e)
                    if e.classify() == serde_json::error::Category::Syntax
                        && e.to_string().starts_with("trailing characters") =>
                {
                    // The value parsed; another one follows.
                    values += 1;
                    let next = off + offset_of(&buf[off..], e.line(), e.column());
                    if next <= off {
                        return;
                    }
                    off = skip_ws(buf, next);
                }
                Err(e) => {
                    let abs = off + offset_of(&buf[off..], e.line(), e.column());
                    let line = line_number(buf, abs);
                    let multi = values > 0 || self.looks_like_ndjson(buf, off);
                    let position = if depth == 0 {
                        format!("line {line}, column {}", e.column())
                    } else {
                        format!("nested document, line {line}")
                    };
                    self.stats.problems.push(ParseProblem {
                        position,
                        reason: clean_error(&e),
                    });
                    if multi {
                        // One broken line of NDJSON: count it as a skipped record and resume at
                        // the line after the one the bad value started on (the error itself
                        // may be reported on the next line, e.g. an unterminated string).
                        let line_end = next_line_start(buf, off);
                        let reason = if std::str::from_utf8(&buf[off..line_end]).is_err() {
                            "invalid UTF-8"
                        } else {
                            "invalid JSON"
                        };
                        if let Some(p) = self.stats.problems.last_mut() {
                            if reason == "invalid UTF-8" {
                                p.reason = "invalid UTF-8 in the line".into();
                            }
                            p.position = format!("line {}", line_number(buf, off));
                        }
                        (self.emit)(Item::NotRecord(reason));
                        self.stats.items += 1;
                        values += 1;
                        off = skip_ws(buf, line_end);
                    } else {
                        self.stats.truncated = true;
                        return;
                    }
                }
            }
        }
    }

    /// A failed first value is treated as one bad NDJSON line if the value starts a line and
    /// another line starting with `{` follows.
    fn looks_like_ndjson(&self, buf: &[u8], off: usize) -> bool {
        let nl = next_line_start(buf, off);
        if nl >= buf.len() {
            return false;
        }
        let first_line = &buf[off..nl];
        let next = skip_ws(buf, nl);
        first_line.first() == Some(&b'{')
            && !first_line.trim_ascii_end().ends_with(b"[")
            && next < buf.len()
            && buf[next] == b'{'
    }

    fn nested(&mut self, raw: &RawValue, depth: u8) {
        if depth >= MAX_NESTING {
            self.stats.problems.push(ParseProblem {
                position: "nested document".into(),
                reason: format!("containers nested deeper than {MAX_NESTING} levels"),
            });
            return;
        }
        let text = raw.get();
        if text.starts_with('"') {
            // A JSON document embedded as a string (LookupEvents CloudTrailEvent, CloudWatch
            // message, Cribl _raw): unescape, then walk it.
            match serde_json::from_str::<Cow<'_, str>>(text) {
                Ok(s) => self.walk_stream(s.as_bytes(), depth + 1),
                Err(e) => self.stats.problems.push(ParseProblem {
                    position: "nested document".into(),
                    reason: clean_error(&e),
                }),
            }
        } else {
            self.walk_stream(text.as_bytes(), depth + 1);
        }
    }

    fn handle_object(&mut self, rec: RawRecord<'_>, depth: u8, in_records: bool) {
        if let Probe::Raw(raw) = rec.c_records {
            self.stats.saw_container = true;
            self.records_array(raw, depth);
            return;
        }
        if rec.c_records.is_present() {
            // `"Records": null`: a CloudTrail document with no records.
            self.stats.saw_container = true;
            return;
        }
        if !rec.is_event() {
            // Envelopes (spec 2.1.2): LookupEvents, EventBridge, CloudWatch Logs, Cribl.
            for probe in [
                rec.c_events,
                rec.c_cloudtrail_event,
                rec.c_detail,
                rec.c_log_events,
                rec.c_raw,
                rec.c_message,
            ] {
                match probe {
                    Probe::Raw(raw) => return self.nested(raw, depth),
                    // An envelope whose payload is null holds no record.
                    Probe::Null => return,
                    Probe::Absent => {}
                }
            }
            if rec.c_digest_start.is_some() || rec.c_log_files.is_some() {
                self.stats.saw_digest = true;
                return;
            }
            if rec.c_config_check.is_some() {
                self.stats.saw_config = true;
                return;
            }
        }
        self.stats.items += 1;
        if rec.is_insight() {
            (self.emit)(Item::NotRecord("CloudTrail Insights event"));
        } else if rec.is_event() {
            (self.emit)(Item::Record(&rec));
        } else if in_records {
            (self.emit)(Item::NotRecord("not a CloudTrail record"));
        } else {
            self.stats.items -= 1;
            self.stats.stray_objects += 1;
        }
    }

    fn records_array(&mut self, raw: &RawValue, depth: u8) {
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let seed = RecordsSeed { w: self, depth };
        if let Err(e) = seed.deserialize(&mut de) {
            self.stats.problems.push(ParseProblem {
                position: "Records array".into(),
                reason: clean_error(&e),
            });
        }
    }
}

fn clean_error(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Deserializes one item position: an object (record or container), an array of items, or a
/// scalar (not a record).
struct ItemSeed<'w, 'e> {
    w: &'w mut Walker<'e>,
    depth: u8,
    in_records: bool,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail record or container")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        let Some(first) = m.next_key::<Key<'de>>()? else {
            // `{}`
            self.w.handle_object(
                RawRecord {
                    is_object: true,
                    ..Default::default()
                },
                self.depth,
                self.in_records,
            );
            return Ok(());
        };
        if first.0 == "Records" && !self.in_records {
            // The S3 trail file hot path: stream the records straight out of the array, so a
            // truncated file still yields every record before the cut.
            self.w.stats.saw_container = true;
            m.next_value_seed(RecordsSeed {
                w: &mut *self.w,
                depth: self.depth,
            })?;
            while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        let mut rec = RawRecord {
            is_object: true,
            ..Default::default()
        };
        rec.take_field(&first.0, &mut m)?;
        while let Some(k) = m.next_key::<Key<'de>>()? {
            rec.take_field(&k.0, &mut m)?;
        }
        self.w.handle_object(rec, self.depth, self.in_records);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<(), A::Error> {
        if self.in_records {
            while s.next_element::<IgnoredAny>()?.is_some() {}
            self.not_record();
            return Ok(());
        }
        // A bare array of items (Stratus detonation logs, Cribl exports, arrays of envelopes).
        while s
            .next_element_seed(ItemSeed {
                w: &mut *self.w,
                depth: self.depth,
                in_records: false,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.not_record();
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.not_record();
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.not_record();
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.not_record();
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.not_record();
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.not_record();
        Ok(())
    }
}

impl ItemSeed<'_, '_> {
    fn not_record(self) {
        if self.in_records {
            self.w.stats.items += 1;
            (self.w.emit)(Item::NotRecord("not a CloudTrail record"));
        } else {
            self.w.stats.stray_objects += 1;
        }
    }
}

/// Deserializes the `Records` array, one element at a time.
struct RecordsSeed<'w, 'e> {
    w: &'w mut Walker<'e>,
    depth: u8,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Records array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<(), A::Error> {
        while s
            .next_element_seed(ItemSeed {
                w: &mut *self.w,
                depth: self.depth,
                in_records: true,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (is_object, arn, session issuer arn, mfa) of each record's userIdentity, None when absent
    /// or null.
    type Ident = Option<(bool, Option<String>, Option<String>, Option<bool>)>;

    fn identities(doc: &str) -> Vec<Ident> {
        let mut out = Vec::new();
        walk(doc.as_bytes(), &mut |item| {
            if let Item::Record(r) = item {
                out.push(r.user_identity.as_ref().map(|u| {
                    let ctx = u.session_context.as_ref();
                    (
                        u.is_object,
                        u.arn.get().map(str::to_string),
                        ctx.and_then(|c| c.session_issuer.as_ref())
                            .and_then(|i| i.arn.get().map(str::to_string)),
                        ctx.and_then(|c| c.attributes.as_ref())
                            .and_then(|a| a.mfa_authenticated.0),
                    )
                }));
            }
        });
        out
    }

    /// Nested structs are read in place with the semantics of deserializing an `Option` and
    /// assigning it: null is None, a non-object is an empty struct that is not an object, and a
    /// repeated key replaces the whole earlier value (nothing of it survives).
    #[test]
    fn nested_structs_read_in_place() {
        let doc = r#"{"Records":[
            {"eventName":"A","userIdentity":{"arn":"arn:a","sessionContext":{"sessionIssuer":{"arn":"arn:issuer"},"attributes":{"mfaAuthenticated":"true"}}}},
            {"eventName":"B","userIdentity":null},
            {"eventName":"C","userIdentity":"not an object"},
            {"eventName":"D","userIdentity":{"arn":"arn:first","sessionContext":{"sessionIssuer":{"arn":"arn:gone"}}},"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":false}}}},
            {"eventName":"E","userIdentity":{"arn":"arn:e","sessionContext":{"sessionIssuer":{"arn":"arn:gone"},"sessionIssuer":null}}},
            {"eventName":"F"}
        ]}"#;
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            identities(doc),
            [
                Some((true, s("arn:a"), s("arn:issuer"), Some(true))),
                None,
                Some((false, None, None, None)),
                Some((true, None, None, Some(false))),
                Some((true, s("arn:e"), None, None)),
                None,
            ]
        );
    }
}
