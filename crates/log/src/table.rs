//! The tabular schema of the case store: the `events` and `issuances` rows, and the per-file
//! columnar batches they are appended to during ingest.
//!
//! A batch stores each string column as one arena plus offsets, so appending a row allocates
//! nothing per field. `store` turns batches into polars frames; nothing here knows polars.

use std::borrow::Cow;

/// A nullable string column stored as one arena.
///
/// A value equal to the one before it (the file name on every row of a file, the same caller's
/// user agent and ARN on consecutive records) is not stored again: its row is tagged `SAME`.
#[derive(Default, Debug, Clone)]
pub struct StrCol {
    data: String,
    /// Per row, `end << 2 | tag` (see `row`): where the row's value ends in `data` (a `SAME` or
    /// null row adds no bytes), and its tag: `NULL`, `NEW` (the bytes since the previous end)
    /// or `SAME`. One word a row: a row of ~40 columns is ~40 stores, not 80.
    rows: Vec<u64>,
    /// The range of the last non-null value.
    last: Option<(usize, usize)>,
}

/// Row tags of a `StrCol`.
pub const NULL: u8 = 0;
pub const NEW: u8 = 1;
/// The same value as the last non-null row before it.
pub(crate) const SAME: u8 = 2;

/// A row word of a `StrCol` as (end, tag).
#[inline]
pub fn row(r: u64) -> (usize, u8) {
    ((r >> 2) as usize, (r & 3) as u8)
}

impl StrCol {
    pub fn push(&mut self, v: Option<&str>) {
        let tag = match v {
            None => NULL,
            Some(s) => match self.last {
                Some((a, b)) if b - a == s.len() && &self.data.as_bytes()[a..b] == s.as_bytes() => {
                    SAME
                }
                _ => {
                    let start = self.data.len();
                    self.data.push_str(s);
                    self.last = Some((start, self.data.len()));
                    NEW
                }
            },
        };
        self.rows.push(((self.data.len() as u64) << 2) | tag as u64);
    }
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// Row i's value (a `SAME` row walks back to its value: for random access to a few rows;
    /// `iter` reads them all in one pass).
    pub fn get(&self, i: usize) -> Option<&str> {
        let mut j = i;
        loop {
            match row(self.rows[j]).1 {
                NULL if j == i => return None,
                NEW => break,
                _ => j -= 1, // a SAME row always has a non-null row before it
            }
        }
        let start = if j == 0 { 0 } else { row(self.rows[j - 1]).0 };
        Some(&self.data[start..row(self.rows[j]).0])
    }
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        let data = self.data.as_str();
        values(data.as_bytes(), &self.rows).map(move |v| v.map(|(s, at)| &data[at..at + s.len()]))
    }
    /// Room for `rows` more values of `bytes` bytes in all.
    pub(crate) fn reserve(&mut self, rows: usize, bytes: usize) {
        self.data.reserve(bytes);
        self.rows.reserve(rows);
    }
    /// Bytes in the arena.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }
    /// The arena and the row words (see `row` and `values`).
    pub fn into_parts(self) -> (String, Vec<u64>) {
        (self.data, self.rows)
    }
}

/// The rows of a `StrCol`'s parts in order: None for a null, else the value's bytes and their
/// offset in `data`.
pub fn values<'d>(
    data: &'d [u8],
    rows: &'d [u64],
) -> impl Iterator<Item = Option<(&'d [u8], usize)>> + 'd {
    let (mut start, mut last) = (0, (0, 0));
    rows.iter().map(move |&r| {
        let (end, tag) = row(r);
        let at = std::mem::replace(&mut start, end);
        match tag {
            NULL => None,
            NEW => {
                last = (at, end);
                Some((&data[at..end], at))
            }
            _ => Some((&data[last.0..last.1], last.0)),
        }
    })
}

/// A borrowed view of one column of a batch, for conversion to the store.
pub enum ColRef<'a> {
    Str(&'a StrCol),
    /// Milliseconds since the epoch, UTC.
    Time(&'a [Option<i64>]),
    Int(&'a [Option<i64>]),
    Bool(&'a [Option<bool>]),
    U64(&'a [u64]),
}

/// One column taken out of a batch (owned), for building the store's column and freeing it.
pub enum ColData {
    Str(StrCol),
    Time(Vec<Option<i64>>),
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    U64(Vec<u64>),
}

impl ColData {
    /// A borrowed view.
    pub fn as_ref(&self) -> ColRef<'_> {
        match self {
            ColData::Str(c) => ColRef::Str(c),
            ColData::Time(c) => ColRef::Time(c),
            ColData::Int(c) => ColRef::Int(c),
            ColData::Bool(c) => ColRef::Bool(c),
            ColData::U64(c) => ColRef::U64(c),
        }
    }
}

/// The column kinds a table may declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Time,
    Int,
    Bool,
    U64,
}

macro_rules! col_ty {
    (Str) => { StrCol };
    (Time) => { Vec<Option<i64>> };
    (Int) => { Vec<Option<i64>> };
    (Bool) => { Vec<Option<bool>> };
    (U64) => { Vec<u64> };
}
macro_rules! row_ty {
    (Str, $a:lifetime) => { Option<Cow<$a, str>> };
    (Time, $a:lifetime) => { Option<i64> };
    (Int, $a:lifetime) => { Option<i64> };
    (Bool, $a:lifetime) => { Option<bool> };
    (U64, $a:lifetime) => { u64 };
}
macro_rules! push_col {
    (Str, $c:expr, $v:expr) => {
        $c.push($v.as_deref())
    };
    ($k:ident, $c:expr, $v:expr) => {
        $c.push($v)
    };
}
macro_rules! push_null {
    (Str, $c:expr) => {
        $c.push(None)
    };
    (U64, $c:expr) => {
        $c.push(0)
    };
    ($k:ident, $c:expr) => {
        $c.push(None)
    };
}
macro_rules! reserve_col {
    (Str, $c:expr, $rows:expr, $bytes:expr) => {
        $c.reserve($rows, $bytes)
    };
    ($k:ident, $c:expr, $rows:expr, $bytes:expr) => {
        $c.reserve($rows)
    };
}
macro_rules! col_bytes {
    (Str, $c:expr) => {
        $c.bytes()
    };
    ($k:ident, $c:expr) => {
        0
    };
}
macro_rules! col_ref {
    (Str, $c:expr) => {
        ColRef::Str(&$c)
    };
    (Time, $c:expr) => {
        ColRef::Time(&$c)
    };
    (Int, $c:expr) => {
        ColRef::Int(&$c)
    };
    (Bool, $c:expr) => {
        ColRef::Bool(&$c)
    };
    (U64, $c:expr) => {
        ColRef::U64(&$c)
    };
}

macro_rules! col_data {
    (Str, $c:expr) => {
        ColData::Str($c)
    };
    (Time, $c:expr) => {
        ColData::Time($c)
    };
    (Int, $c:expr) => {
        ColData::Int($c)
    };
    (Bool, $c:expr) => {
        ColData::Bool($c)
    };
    (U64, $c:expr) => {
        ColData::U64($c)
    };
}

/// Declares the names of a table's columns, each once: a module with one `&str` constant per
/// column, named like the column and equal to its name (`event::access_key_id ==
/// "access_key_id"`), and `ALL`, the names in declaration order. Code names a column through its
/// constant, so a misspelt column is a compile error and a column's name is written in one place.
///
/// The constants are lower case (like the names, the struct fields and the SQL the user writes)
/// because `macro_rules!` cannot change the case of an identifier, and writing each name twice
/// (`EVENT_ID = "event_id"`) is what this is here to avoid. `table!` declares the stored tables'
/// modules; a stage that adds columns declares its own (`trailgraph_graph::attribute::attributed`).
#[macro_export]
macro_rules! column_names {
    ($(#[$m:meta])* $vis:vis mod $module:ident { $($(#[$fm:meta])* $field:ident),* $(,)? }) => {
        $(#[$m])*
        #[allow(non_upper_case_globals)]
        $vis mod $module {
            $($(#[$fm])* pub const $field: &str = stringify!($field);)*
            /// Every column name, in declaration order.
            pub const ALL: &[&str] = &[$($field),*];
        }
    };
}

macro_rules! table {
    ($(#[$m:meta])* $row:ident, $batch:ident, $names:ident { $($(#[$fm:meta])* $field:ident : $kind:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Default, Debug, Clone)]
        pub struct $row<'a> {
            $($(#[$fm])* pub $field: row_ty!($kind, 'a),)*
        }

        column_names!(
            #[doc = concat!("The column names of `", stringify!($batch), "` (the case store's `", stringify!($names), "` columns), in schema order.")]
            pub mod $names { $($(#[$fm])* $field),* }
        );

        /// Columnar batch of rows (see the row type for the meaning of each column).
        #[derive(Default, Debug, Clone)]
        pub struct $batch {
            $(pub $field: col_ty!($kind),)*
            len: usize,
        }

        impl $batch {
            /// Column names and kinds, in schema order.
            pub const SCHEMA: &'static [(&'static str, Kind)] = &[$(($names::$field, Kind::$kind)),*];

            pub fn push(&mut self, r: &$row<'_>) {
                $(push_col!($kind, self.$field, r.$field);)*
                self.len += 1;
            }
            /// Like `push`, but columns whose `wanted` flag is false (schema order) get a null
            /// (nothing is copied for them).
            pub fn push_masked(&mut self, r: &$row<'_>, wanted: &[bool]) {
                let mut w = wanted.iter().copied();
                $(
                    if w.next().unwrap_or(true) {
                        push_col!($kind, self.$field, r.$field);
                    } else {
                        push_null!($kind, self.$field);
                    }
                )*
                self.len += 1;
            }
            pub fn len(&self) -> usize {
                self.len
            }
            /// Bytes in each column's arena (0 for columns that are not strings).
            pub(crate) fn column_bytes(&self) -> Vec<usize> {
                vec![$(col_bytes!($kind, self.$field)),*]
            }
            /// Room for `rows` more rows, with `bytes[i]` more bytes in string column `i`, so
            /// the columns do not grow (and copy) while a file is read.
            pub(crate) fn reserve(&mut self, rows: usize, bytes: &[usize]) {
                let mut b = bytes.iter().copied();
                $(reserve_col!($kind, self.$field, rows, b.next().unwrap_or(0));)*
            }
            pub fn is_empty(&self) -> bool {
                self.len == 0
            }
            /// The columns, in schema order.
            pub fn columns(&self) -> Vec<(&'static str, ColRef<'_>)> {
                vec![$(($names::$field, col_ref!($kind, self.$field))),*]
            }
            /// Moves every column out (in schema order), leaving the batch empty.
            pub fn take_columns(&mut self) -> Vec<ColData> {
                self.len = 0;
                vec![$(col_data!($kind, std::mem::take(&mut self.$field))),*]
            }
        }
    };
}

table!(
    /// One row per distinct CloudTrail event (spec 2.2, 2.3).
    EventRow, EventBatch, event {
        event_id: Str,
        event_time: Time,
        event_name: Str,
        event_source: Str,
        event_type: Str,
        event_category: Str,
        event_version: Str,
        aws_region: Str,
        recipient_account: Str,
        source_ip: Str,
        user_agent: Str,
        error_code: Str,
        error_message: Str,
        read_only: Bool,
        management_event: Bool,
        request_id: Str,
        shared_event_id: Str,
        /// userIdentity.type
        identity_type: Str,
        identity_arn: Str,
        principal_id: Str,
        identity_account: Str,
        access_key_id: Str,
        user_name: Str,
        invoked_by: Str,
        issuer_type: Str,
        issuer_arn: Str,
        issuer_account: Str,
        issuer_principal_id: Str,
        /// sessionContext.attributes.creationDate: when the signing credentials were issued.
        creation_date: Time,
        mfa_authenticated: Bool,
        source_identity: Str,
        on_behalf_of_user_id: Str,
        on_behalf_of_store_arn: Str,
        identity_provider: Str,
        credential_id: Str,
        web_id_provider: Str,
        ec2_role_delivery: Str,
        assumed_root: Bool,
        session_credential_from_console: Bool,
        in_scope_of_issued_to: Str,
        /// additionalEventData.SwitchFrom (console SwitchRole).
        switch_from: Str,
        /// ConsoleLogin only: responseElements.ConsoleLogin (`Success`, `Failure`) and
        /// additionalEventData.MFAUsed (`Yes`, `No`).
        console_login_result: Str,
        console_mfa_used: Str,
        /// serviceEventDetails.account_id / role_name (Identity Center GetRoleCredentials, Federate).
        sso_account_id: Str,
        sso_role_name: Str,
        /// IAM access-key calls: the key named in the request (UpdateAccessKey, DeleteAccessKey, …).
        request_access_key_id: Str,
        request_key_status: Str,
        /// IAM user calls (access keys, login profiles, user policies, groups, …): the user
        /// named in the request (requestParameters.userName; absent: the caller itself).
        request_user_name: Str,
        /// requestParameters as raw JSON text.
        request_parameters: Str,
        /// responseElements, additionalEventData, serviceEventDetails and resources as raw JSON
        /// text (what `hunt` evaluates rules on; no analysis reads them).
        response_elements: Str,
        additional_event_data: Str,
        service_event_details: Str,
        resources: Str,
        source_file: Str,
        record_index: U64,
        /// The identity signature (`signature::IdentityFields::signature` of the row's identity
        /// fields) as 32 lowercase hex digits: what attribution memoises on and `resolve`'s map
        /// is keyed by. Set by ingest.
        identity_sig: Str,
    }
);

/// The events columns that hold a payload object of the record as its raw JSON text (the
/// largest columns: read by `query` and `hunt`, by no other analysis).
pub const RAW_JSON_COLUMNS: &[&str] = &[
    event::request_parameters,
    event::response_elements,
    event::additional_event_data,
    event::service_event_details,
    event::resources,
];

table!(
    /// One row per STS issuance call (successful or not) (spec 2.4).
    IssuanceRow, IssuanceBatch, issuance {
        event_id: Str,
        event_time: Time,
        kind: Str,
        recipient_account: Str,
        aws_region: Str,
        shared_event_id: Str,
        request_id: Str,
        error_code: Str,
        source_ip: Str,
        user_agent: Str,
        caller_type: Str,
        caller_arn: Str,
        caller_principal_id: Str,
        caller_account: Str,
        caller_access_key_id: Str,
        caller_creation_date: Time,
        caller_invoked_by: Str,
        caller_issuer_arn: Str,
        caller_issuer_type: Str,
        caller_user_name: Str,
        caller_identity_provider: Str,
        caller_source_identity: Str,
        caller_mfa_authenticated: Bool,
        role_arn: Str,
        role_session_name: Str,
        external_id: Str,
        serial_number: Str,
        duration_seconds: Int,
        source_identity: Str,
        issued_access_key_id: Str,
        assumed_role_arn: Str,
        assumed_role_id: Str,
        expiration: Time,
        saml_provider_arn: Str,
        saml_subject: Str,
        saml_subject_type: Str,
        saml_issuer: Str,
        oidc_provider: Str,
        oidc_subject: Str,
        oidc_audience: Str,
        federated_user_arn: Str,
        federated_user_id: Str,
        target_principal: Str,
        task_policy_arn: Str,
        source_file: Str,
        record_index: U64,
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_the_schema() {
        fn names(s: &[(&'static str, Kind)]) -> Vec<&'static str> {
            s.iter().map(|(n, _)| *n).collect()
        }
        assert_eq!(names(EventBatch::SCHEMA), event::ALL);
        assert_eq!(names(IssuanceBatch::SCHEMA), issuance::ALL);
        assert_eq!(event::access_key_id, "access_key_id");
        assert_eq!(issuance::caller_type, "caller_type");
        let b = EventBatch::default();
        assert_eq!(
            b.columns().iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            event::ALL
        );
    }
}
