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
//! `WindowWalk` is the same walk over a unit given a window at a time (a large file read as a
//! stream): complete values are parsed in place in the window, `Records` arrays and arrays of
//! items an element at a time, with the same results as `walk` over the whole unit.

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
        resources: Option<&'a RawValue> = "resources",
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
    /// `additionalEventData` of SwitchRole and ConsoleLogin.
    RawAdditional {
        switch_from: LStr<'a> = "SwitchFrom",
        mfa_used: LStr<'a> = "MFAUsed",
    }
);

lenient_struct!(
    /// `responseElements` of ConsoleLogin.
    RawConsoleResponse {
        console_login: LStr<'a> = "ConsoleLogin",
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
    /// `requestParameters` of IAM user calls (UpdateAccessKey, DeleteAccessKey,
    /// CreateLoginProfile, …).
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

// ---------------------------------------------------------------------------------------------
// The windowed walker: the walk of a unit read a window at a time.

/// What the windowed walker is inside of, in the value it streams.
#[derive(Debug, Clone, Copy)]
enum Frame {
    /// An array read an element at a time: a `Records` array (`in_records`) or an array of
    /// items. `sep`: an element was read, a `,` or `]` comes next; `any`: an element was read.
    Array {
        in_records: bool,
        sep: bool,
        any: bool,
    },
    /// The entries of an object after its `Records` array, up to the closing `}`.
    ObjectRest,
}

/// What the windowed walker skips before it walks on.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Skip {
    /// An NDJSON line over `MAX_LINE_BYTES`, up to its newline: (its line, bytes so far).
    LongLine(usize, usize),
    /// The rest of a broken NDJSON line (already reported).
    RestOfLine,
}

/// Walks a unit given a window at a time, with the results of `walk` over the whole unit:
/// the same items in the same order, the same stats and problems. Complete values are parsed
/// in place in the window (records borrow from it, as in `walk`); arrays and `Records` arrays
/// are read an element at a time, so an element, not the document, must fit in the window.
///
/// `feed` walks what it can of the bytes not yet consumed and says how many it consumed: the
/// caller drops them, appends more, and calls again, with `eof` once the unit is complete.
/// Where `walk` would resume a broken NDJSON value at a line the window has already dropped
/// (a value spanning lines), this one resumes at the line after the error.
#[derive(Debug, Default)]
pub struct WindowWalk {
    stats: WalkStats,
    frames: Vec<Frame>,
    /// Top-level values read (`walk_stream`'s `values`).
    values: u64,
    /// `looks_like_ndjson` of the first value, once known.
    ndjson: Option<bool>,
    /// The top-level value being read: its absolute offset and line, and whether an error in
    /// it is one bad NDJSON line (`multi`) or ends the walk.
    value_start: u64,
    value_line: usize,
    value_multi: bool,
    skip: Option<Skip>,
    /// The absolute offset of the window's first byte, the newlines before it, and the
    /// absolute offset of the line it is in.
    abs: u64,
    lines: usize,
    line_start: u64,
    started: bool,
    done: bool,
    /// (window offset, newlines before it in the window) of the last `line_of`.
    line_cache: std::cell::Cell<(usize, usize)>,
}

/// The result of one `WindowWalk::feed`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fed {
    /// Bytes at the start of the window that were walked (the caller drops them).
    pub consumed: usize,
    /// The walk is over: the rest of the unit need not be read.
    pub done: bool,
}

/// How one step of the windowed walk ended.
enum Step {
    /// Walked on to this offset.
    At(usize),
    /// The window ends inside a value: more bytes are needed.
    More,
    /// A syntax error: serde's offset for it (one past the offending byte, or the end) and
    /// its message.
    Error(usize, String),
}

/// `{` ws `"Records"` ws `:` ws `[` at `pos`: Some(its length), None if it is not that, and
/// Some(None) while the window ends before it can be told.
fn records_head(buf: &[u8], pos: usize, eof: bool) -> Option<Option<usize>> {
    let mut i = pos;
    for part in [&b"{"[..], b"\"Records\"", b":", b"["] {
        i = skip_ws(buf, i);
        let have = &buf[i.min(buf.len())..];
        if have.len() < part.len() {
            return (part.starts_with(have) && !eof).then_some(None);
        }
        if !have.starts_with(part) {
            return None;
        }
        i += part.len();
    }
    Some(Some(i - pos))
}

impl WindowWalk {
    pub fn new() -> WindowWalk {
        WindowWalk::default()
    }

    /// The stats of the walk (after the last `feed`).
    pub fn finish(self) -> WalkStats {
        self.stats
    }

    /// Record positions handed to the callback so far.
    pub fn items(&self) -> u64 {
        self.stats.items
    }

    /// The walk is over (the rest of the unit need not be read).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Ends the walk where it is, because the value at the window's start does not fit in
    /// `limit` bytes: a problem, like a unit cut there.
    pub fn too_large(&mut self, limit: usize) {
        if self.done {
            return;
        }
        let line = if self.frames.is_empty() {
            self.lines + 1
        } else {
            self.value_line
        };
        self.stats.problems.push(ParseProblem {
            position: format!("line {line}"),
            reason: format!(
                "a JSON value larger than {limit} bytes (only arrays, Records arrays and NDJSON lines are read in parts)"
            ),
        });
        self.stats.truncated = true;
        self.done = true;
    }

    /// Walks the complete values at the start of `buf` (the unit's bytes not yet consumed);
    /// `eof`: no bytes follow. Never fails: syntax errors become problems, as in `walk`.
    pub fn feed(&mut self, buf: &[u8], eof: bool, emit: &mut dyn FnMut(Item<'_, '_>)) -> Fed {
        if self.done {
            return Fed {
                consumed: buf.len(),
                done: true,
            };
        }
        if !self.started {
            const BOM: &[u8] = b"\xEF\xBB\xBF";
            if buf.len() < BOM.len() && !eof && BOM.starts_with(buf) {
                return Fed {
                    consumed: 0,
                    done: false,
                };
            }
            self.started = true;
            if buf.starts_with(BOM) {
                // `walk` strips it: offsets and columns count from after it.
                let fed = self.feed(&buf[BOM.len()..], eof, emit);
                return Fed {
                    consumed: fed.consumed + BOM.len(),
                    done: fed.done,
                };
            }
        }
        // Valid UTF-8 lets serde skip its per-string check, as `walk` does for a whole valid
        // unit; a character cut by the window's end is not invalid yet.
        let text: Option<&str> = match std::str::from_utf8(buf) {
            Ok(t) => Some(t),
            Err(e) if e.error_len().is_none() && !eof => {
                std::str::from_utf8(&buf[..e.valid_up_to()]).ok()
            }
            Err(_) => None,
        };
        let mut w = Walker {
            emit,
            stats: std::mem::take(&mut self.stats),
        };
        self.line_cache.set((0, 0));
        let pos = self.run(&mut w, buf, text, eof);
        self.stats = w.stats;
        let pos = if self.done { buf.len() } else { pos };
        self.advance(&buf[..pos]);
        Fed {
            consumed: pos,
            done: self.done,
        }
    }

    fn advance(&mut self, gone: &[u8]) {
        let mut nl = memchr::memrchr_iter(b'\n', gone);
        if let Some(last) = nl.next() {
            self.line_start = self.abs + last as u64 + 1;
            self.lines += 1 + nl.count();
        }
        self.abs += gone.len() as u64;
    }

    /// The line (1-based, in the unit) of window offset `i`. Counts on from the offset asked
    /// last in this window (offsets mostly grow), so a window's lines are counted about once.
    fn line_of(&self, buf: &[u8], i: usize) -> usize {
        let (at, n) = self.line_cache.get();
        let (at, n) = if i >= at { (at, n) } else { (0, 0) };
        let n = n + memchr::memchr_iter(b'\n', &buf[at..i]).count();
        self.line_cache.set((i, n));
        self.lines + 1 + n
    }

    /// The "line L, column C" `walk` reports for serde's error at window offset `i`: serde
    /// counts columns on the value's first line from the value's start.
    fn serde_position(&self, buf: &[u8], i: usize) -> (usize, u64) {
        let i = i.min(buf.len());
        let line_start = match memchr::memrchr(b'\n', &buf[..i]) {
            Some(p) => self.abs + p as u64 + 1,
            None => self.line_start,
        };
        let from = line_start.max(self.value_start);
        (self.line_of(buf, i), self.abs + i as u64 - from)
    }

    /// Parses the value at `pos` with `seed`, in place: where the next value starts.
    fn parse<S>(buf: &[u8], text: Option<&str>, pos: usize, eof: bool, seed: S) -> Step
    where
        S: for<'de> DeserializeSeed<'de>,
    {
        let end = text.map_or(buf.len(), str::len);
        let res = match text {
            Some(t) => {
                let mut de = serde_json::Deserializer::from_str(&t[pos..]);
                seed.deserialize(&mut de).map(|_| de.end())
            }
            None => {
                let mut de = serde_json::Deserializer::from_slice(&buf[pos..]);
                seed.deserialize(&mut de).map(|_| de.end())
            }
        };
        match res {
            Ok(Ok(())) => Step::At(end),
            Ok(Err(e)) => Step::At(pos + offset_of(&buf[pos..end], e.line(), e.column())),
            Err(e) if e.is_eof() && !eof => Step::More,
            Err(e) => {
                // serde's offset: (line, column) from `pos`, the column counting from 0 at
                // the line's start.
                let rel = &buf[pos..end];
                let line_start = match e.line() {
                    0 | 1 => 0,
                    l => memchr::memchr_iter(b'\n', rel)
                        .nth(l - 2)
                        .map_or(rel.len(), |p| p + 1),
                };
                let at = (line_start + e.column()).min(rel.len());
                // An error at the very end of the window may be a value cut by it (`0.` of
                // `0.04`, `tr` of `true`: serde calls these invalid, not "EOF while parsing"):
                // more bytes tell.
                if !eof && at >= rel.len() {
                    return Step::More;
                }
                Step::Error(pos + at, clean_error(&e))
            }
        }
    }

    /// Walks from `pos`; returns where it stopped (everything before is consumed).
    fn run(&mut self, w: &mut Walker<'_>, buf: &[u8], text: Option<&str>, eof: bool) -> usize {
        let end = text.map_or(buf.len(), str::len);
        let mut pos = 0;
        loop {
            match self.skip {
                None => {}
                Some(Skip::LongLine(line, len)) => match memchr::memchr(b'\n', &buf[pos..]) {
                    Some(p) => {
                        self.skip = None;
                        self.long_line(w, line, len + p + 1);
                        pos += p + 1;
                    }
                    None if eof => {
                        self.skip = None;
                        self.long_line(w, line, len + buf.len() - pos);
                        pos = buf.len();
                    }
                    None => {
                        self.skip = Some(Skip::LongLine(line, len + buf.len() - pos));
                        return buf.len();
                    }
                },
                Some(Skip::RestOfLine) => match memchr::memchr(b'\n', &buf[pos..]) {
                    Some(p) => {
                        self.skip = None;
                        pos += p + 1;
                    }
                    None if eof => {
                        self.skip = None;
                        pos = buf.len();
                    }
                    None => return buf.len(),
                },
            }
            pos = skip_ws(buf, pos);
            let step = if pos >= end {
                if !eof || pos < buf.len() {
                    return pos;
                }
                match self.frames.last() {
                    None => {
                        self.done = true;
                        return pos;
                    }
                    // The unit ends inside a streamed value: serde's error there.
                    Some(Frame::Array {
                        sep: false,
                        any: true,
                        ..
                    }) => Step::Error(pos, "EOF while parsing a value".into()),
                    Some(Frame::Array { .. }) => {
                        Step::Error(pos, "EOF while parsing a list".into())
                    }
                    Some(Frame::ObjectRest) => {
                        Step::Error(pos, "EOF while parsing an object".into())
                    }
                }
            } else {
                match self.frames.last().copied() {
                    None => self.top(w, buf, text, pos, eof),
                    Some(Frame::Array {
                        in_records,
                        sep,
                        any,
                    }) => self.element(w, buf, text, pos, eof, in_records, sep, any),
                    Some(Frame::ObjectRest) => self.object_rest(buf, text, pos, eof),
                }
            };
            match step {
                Step::At(p) => pos = p,
                Step::More => return pos,
                Step::Error(i, reason) => {
                    pos = self.fail(w, buf, i, reason, eof);
                    if self.done {
                        return buf.len();
                    }
                }
            }
        }
    }

    /// One NDJSON line over `MAX_LINE_BYTES`, skipped (as in `walk_stream`).
    fn long_line(&mut self, w: &mut Walker<'_>, line: usize, len: usize) {
        w.stats.problems.push(ParseProblem {
            position: format!("line {line}"),
            reason: format!(
                "line of {len} bytes skipped: larger than {MAX_LINE_BYTES} bytes (CloudTrail events are at most 256 KB)"
            ),
        });
        (w.emit)(Item::NotRecord("line too long"));
        w.stats.items += 1;
        self.values += 1;
    }

    /// A value of the top level at `pos`.
    fn top(
        &mut self,
        w: &mut Walker<'_>,
        buf: &[u8],
        text: Option<&str>,
        pos: usize,
        eof: bool,
    ) -> Step {
        if self.values == 0 && self.ndjson.is_none() {
            // `looks_like_ndjson` needs the first line and the next line's first byte.
            let rest = &buf[pos..];
            let known = match memchr::memchr(b'\n', rest) {
                Some(p) => eof || skip_ws(rest, p + 1) < rest.len(),
                None => eof,
            };
            if known {
                self.ndjson = Some(w.looks_like_ndjson(buf, pos));
            } else if !matches!(records_head(buf, pos, eof), Some(Some(_))) && buf[pos] != b'[' {
                return Step::More;
            }
            // A value read in parts before its first line ends: `walk` would call it NDJSON
            // only if another line followed its first; an error in it ends the walk.
        }
        let multi = self.values > 0 || self.ndjson == Some(true);
        if multi {
            const RECORDS: &[u8] = b"{\"Records\"";
            let rest = &buf[pos..];
            if rest.len() < RECORDS.len() && !eof && RECORDS.starts_with(rest) {
                return Step::More;
            }
            if !rest.starts_with(RECORDS) {
                let line = self.line_of(buf, pos);
                match memchr::memchr(b'\n', rest) {
                    Some(p) if p + 1 > MAX_LINE_BYTES => {
                        self.long_line(w, line, p + 1);
                        return Step::At(pos + p + 1);
                    }
                    None if rest.len() > MAX_LINE_BYTES => {
                        self.skip = Some(Skip::LongLine(line, 0));
                        return Step::At(pos);
                    }
                    None if !eof => return Step::More,
                    _ => {}
                }
            }
        }
        self.value_start = self.abs + pos as u64;
        self.value_line = self.line_of(buf, pos);
        self.value_multi = multi;
        match records_head(buf, pos, eof) {
            Some(None) => return Step::More,
            Some(Some(n)) => {
                w.stats.saw_container = true;
                self.frames.push(Frame::ObjectRest);
                self.frames.push(Frame::Array {
                    in_records: true,
                    sep: false,
                    any: false,
                });
                return Step::At(pos + n);
            }
            None => {}
        }
        if buf[pos] == b'[' {
            self.frames.push(Frame::Array {
                in_records: false,
                sep: false,
                any: false,
            });
            return Step::At(pos + 1);
        }
        let step = Self::parse(
            buf,
            text,
            pos,
            eof,
            ItemSeed {
                w,
                depth: 0,
                in_records: false,
            },
        );
        if let Step::At(_) = step {
            self.values += 1;
        }
        step
    }

    /// A position of an array read in parts.
    #[allow(clippy::too_many_arguments)]
    fn element(
        &mut self,
        w: &mut Walker<'_>,
        buf: &[u8],
        text: Option<&str>,
        pos: usize,
        eof: bool,
        in_records: bool,
        sep: bool,
        any: bool,
    ) -> Step {
        let c = buf[pos];
        if sep {
            return match c {
                b',' => {
                    self.set_top(Frame::Array {
                        in_records,
                        sep: false,
                        any: true,
                    });
                    Step::At(pos + 1)
                }
                b']' => {
                    self.close();
                    Step::At(pos + 1)
                }
                _ => Step::Error(pos + 1, "expected `,` or `]`".into()),
            };
        }
        if c == b']' {
            if any {
                return Step::Error(pos + 1, "trailing comma".into());
            }
            self.close();
            return Step::At(pos + 1);
        }
        if !in_records {
            match records_head(buf, pos, eof) {
                Some(None) => return Step::More,
                Some(Some(n)) => {
                    w.stats.saw_container = true;
                    self.frames.push(Frame::ObjectRest);
                    self.frames.push(Frame::Array {
                        in_records: true,
                        sep: false,
                        any: false,
                    });
                    return Step::At(pos + n);
                }
                None => {}
            }
            if c == b'[' {
                self.frames.push(Frame::Array {
                    in_records: false,
                    sep: false,
                    any: false,
                });
                return Step::At(pos + 1);
            }
        }
        let step = Self::parse(
            buf,
            text,
            pos,
            eof,
            ItemSeed {
                w,
                depth: 0,
                in_records,
            },
        );
        if let Step::At(_) = step {
            self.set_top(Frame::Array {
                in_records,
                sep: true,
                any: true,
            });
        }
        step
    }

    /// A position in an object after its `Records` array: `}` or another entry (skipped, as
    /// `walk` skips it).
    fn object_rest(&mut self, buf: &[u8], text: Option<&str>, pos: usize, eof: bool) -> Step {
        let end = text.map_or(buf.len(), str::len);
        match buf[pos] {
            b'}' => {
                self.close();
                return Step::At(pos + 1);
            }
            b',' => {}
            _ => return Step::Error(pos + 1, "expected `,` or `}`".into()),
        }
        let k = skip_ws(buf, pos + 1);
        if k >= end {
            return if eof && k >= buf.len() {
                Step::Error(k, "EOF while parsing a value".into())
            } else {
                Step::More
            };
        }
        match buf[k] {
            b'"' => {}
            b'}' => return Step::Error(k + 1, "trailing comma".into()),
            _ => return Step::Error(k + 1, "key must be a string".into()),
        }
        let colon = match Self::parse(buf, text, k, eof, std::marker::PhantomData::<IgnoredAny>) {
            Step::At(p) => p,
            other => return other,
        };
        if colon >= end {
            return if eof && colon >= buf.len() {
                Step::Error(colon, "EOF while parsing an object".into())
            } else {
                Step::More
            };
        }
        if buf[colon] != b':' {
            return Step::Error(colon + 1, "expected `:`".into());
        }
        let v = skip_ws(buf, colon + 1);
        if v >= end {
            return if eof && v >= buf.len() {
                Step::Error(v, "EOF while parsing a value".into())
            } else {
                Step::More
            };
        }
        Self::parse(buf, text, v, eof, std::marker::PhantomData::<IgnoredAny>)
    }

    fn set_top(&mut self, f: Frame) {
        if let Some(top) = self.frames.last_mut() {
            *top = f;
        }
    }

    /// The innermost frame's value ended.
    fn close(&mut self) {
        self.frames.pop();
        match self.frames.last_mut() {
            None => self.values += 1,
            Some(Frame::Array { sep, any, .. }) => {
                *sep = true;
                *any = true;
            }
            Some(Frame::ObjectRest) => {}
        }
    }

    /// A syntax error at window offset `i` in the top-level value being read, handled as
    /// `walk_stream` handles it. Returns where to walk on.
    fn fail(
        &mut self,
        w: &mut Walker<'_>,
        buf: &[u8],
        i: usize,
        reason: String,
        eof: bool,
    ) -> usize {
        self.frames.clear();
        if !self.value_multi {
            let (line, column) = self.serde_position(buf, i);
            w.stats.problems.push(ParseProblem {
                position: format!("line {line}, column {column}"),
                reason,
            });
            w.stats.truncated = true;
            self.done = true;
            return buf.len();
        }
        // One broken NDJSON line: skipped as a record, the walk resumes at the next line.
        let from = if self.value_start >= self.abs {
            (self.value_start - self.abs) as usize
        } else {
            i.saturating_sub(1)
        };
        let line_end = memchr::memchr(b'\n', &buf[from..]).map(|p| from + p + 1);
        let utf8_ok = std::str::from_utf8(&buf[from..line_end.unwrap_or(buf.len())]).is_ok();
        w.stats.problems.push(ParseProblem {
            position: format!("line {}", self.value_line),
            reason: if utf8_ok {
                reason
            } else {
                "invalid UTF-8 in the line".into()
            },
        });
        (w.emit)(Item::NotRecord(if utf8_ok {
            "invalid JSON"
        } else {
            "invalid UTF-8"
        }));
        w.stats.items += 1;
        self.values += 1;
        match line_end {
            Some(e) => e,
            None => {
                if !eof {
                    self.skip = Some(Skip::RestOfLine);
                }
                buf.len()
            }
        }
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

#[cfg(test)]
mod window_tests {
    use super::*;

    /// What a walk yielded, comparable: each item and the stats.
    fn item_text(item: Item<'_, '_>) -> String {
        match item {
            Item::Record(r) => format!(
                "record {:?} {:?} {:?}",
                r.event_id.get(),
                r.event_name.get(),
                r.user_identity.as_ref().and_then(|u| u.arn.get())
            ),
            Item::NotRecord(reason) => format!("skip {reason}"),
        }
    }

    fn whole(doc: &[u8]) -> (Vec<String>, String) {
        let mut items = Vec::new();
        let stats = walk(doc, &mut |item| items.push(item_text(item)));
        (items, format!("{stats:?}"))
    }

    /// Walks `doc` through windows of `n` bytes at first (widened when a value needs it), as
    /// ingest reads a stream.
    fn windowed(doc: &[u8], n: usize) -> (Vec<String>, String) {
        let mut items = Vec::new();
        let mut walk = WindowWalk::new();
        let mut window: Vec<u8> = Vec::with_capacity(n);
        let mut at = 0;
        loop {
            let take = (window.capacity() - window.len()).min(doc.len() - at);
            window.extend_from_slice(&doc[at..at + take]);
            at += take;
            let eof = at == doc.len();
            let fed = walk.feed(&window, eof, &mut |item| items.push(item_text(item)));
            window.drain(..fed.consumed);
            if fed.done || eof {
                assert!(
                    fed.done,
                    "the walk ends with the unit: {:?}",
                    String::from_utf8_lossy(doc)
                );
                break;
            }
            if fed.consumed == 0 && window.len() == window.capacity() {
                window.reserve(window.capacity());
            }
        }
        (items, format!("{:?}", walk.finish()))
    }

    fn check(doc: &[u8], sizes: &[usize]) {
        let want = whole(doc);
        for &n in sizes {
            let got = windowed(doc, n);
            assert_eq!(
                got,
                want,
                "window {n} on {:?}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    const REC: &str = r#"{"eventID":"e1","eventName":"GetObject","eventTime":"2025-01-01T00:00:00Z","userIdentity":{"arn":"arn:aws:iam::1:user/a\"b","type":"IAMUser"}}"#;

    fn rec(i: usize) -> String {
        REC.replace("e1", &format!("e{i}"))
    }

    fn docs() -> Vec<Vec<u8>> {
        let recs = |n: usize, sep: &str| (0..n).map(rec).collect::<Vec<_>>().join(sep);
        let mut docs: Vec<String> = vec![
            format!(r#"{{"Records":[{}]}}"#, recs(4, ",")),
            format!(
                "{{\n  \"Records\" : [\n    {}\n  ],\n  \"x\": {{\"a\":[1,\"]\"]}}, \"y\":2\n}}\n",
                recs(3, ",\n    ")
            ),
            format!(
                "{}\n{}\n",
                recs(3, "\n"),
                r#"{"Records":[{"eventName":"InBatch"},{}]}"#
            ),
            format!("{}\n{{\"eventID\":\"bad\",\n{}\n", rec(1), rec(2)),
            format!(
                "[{}, [{}], 3, \"s\", {{}}, null, {{\"Records\":[{}]}}]",
                rec(1),
                rec(2),
                rec(3)
            ),
            format!(r#"{{"Records":[{}]}}{{"Records":[{}]}}"#, rec(1), rec(2)),
            format!("{{\"Records\":[{}]}}\n{{\"Records\":[]}}\n", recs(2, ",")),
            format!("\u{feff}{{\"Records\":[{}]}}", rec(1)),
            format!(r#"{{"a":1,"Records":[{}]}}"#, rec(1)),
            format!(
                r#"{{"Records":[{}, 1, [2], {{"Records":[{}]}}]}}"#,
                rec(1),
                rec(2)
            ),
            format!(
                r#"{{"logEvents":[{{"message":{}}}]}}"#,
                serde_json::to_string(&rec(5)).unwrap()
            ),
            format!("{{\"Records\":[{}],}}", rec(1)),
            format!("{{\"Records\":[{},]}}", rec(1)),
            format!("{{\"Records\":[{} {}]}}", rec(1), rec(2)),
            format!("{{\"Records\":[{}], 5}}", rec(1)),
            format!("{{\"Records\":[{}], \"k\" 5}}", rec(1)),
            format!("{}\n[{}]\n", rec(1), rec(2)),
            "  \n\n  ".to_string(),
            "{\"Records\":null}".to_string(),
            // Numbers and literals that a window can cut where serde calls them invalid (found
            // by the `window` fuzz target on an Insights file).
            r#"{"Records":[{"eventType":"AwsCloudTrailInsight","x":{"average":0.0417,"b":3.0,"t":true,"f":false,"n":null,"e":-1.5e-3}}]}"#.to_string(),
        ];
        docs.push(format!("{}\n{}\n", rec(1), "\u{0}garbage"));
        let mut out: Vec<Vec<u8>> = docs.into_iter().map(String::into_bytes).collect();
        let mut bad_utf8 = format!("{}\n", rec(1)).into_bytes();
        bad_utf8.extend(b"{\"eventID\":\"x\xff\"}\n");
        bad_utf8.extend(format!("{}\n", rec(2)).into_bytes());
        out.push(bad_utf8);
        out
    }

    /// The windowed walk yields what the whole walk yields, for every shape, whatever the
    /// window (down to one byte: every record straddles windows).
    #[test]
    fn windowed_walk_equals_whole_walk() {
        for doc in docs() {
            check(&doc, &[1, 2, 3, 7, 16, 61, 1 << 20]);
        }
    }

    /// Also for every unit cut short, at every byte: the same records kept, the same problem.
    #[test]
    fn windowed_walk_of_a_cut_unit_equals_whole_walk() {
        for doc in docs() {
            for cut in 0..doc.len() {
                check(&doc[..cut], &[5, 64]);
            }
        }
    }

    /// The fixtures of every shape and hazard, decoded.
    #[test]
    fn windowed_walk_of_the_fixtures() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
        let mut n = 0;
        let mut files = Vec::new();
        let mut dirs = vec![root.join("shapes"), root.join("hazards"), root.join("real")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        files.sort();
        for p in files {
            for unit in crate::decode::decode("x", std::fs::read(&p).unwrap(), 1 << 30) {
                if !unit.bytes.is_empty() {
                    check(&unit.bytes, &[3, 100, 4096]);
                    n += 1;
                }
            }
        }
        assert!(n > 100, "{n} units");
    }
}
