//! The identity signature: one 128-bit value per distinct signing identity (the fifteen
//! `userIdentity` fields attribution reads). Ingest stores it with every event (the events
//! column `identity_sig`, 32 lowercase hex digits) and attribution memoises on it, through this
//! one function, so the stored value and attribution's memo key are the same thing; `resolve`
//! writes its identity map keyed by it, and an SQL engine joins events to the map on it.
//!
//! The value is XXH3-128 (seed 0) of a fixed encoding of the fields in the order of
//! `IdentityFields`: per field a tag byte (0 null, 1 present), then for a string its length
//! (u32, little endian) and bytes, for a time its milliseconds (i64, little endian), for a
//! boolean one byte (0 or 1). XXH3 is specified, so the value does not depend on the trailgraph
//! build or machine that computed it: cases ingested by several runs agree.

use std::cell::RefCell;

/// The identity fields of one event (see `table::event` for each column), borrowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityFields<'a> {
    pub identity_type: Option<&'a str>,
    pub identity_arn: Option<&'a str>,
    pub principal_id: Option<&'a str>,
    pub identity_account: Option<&'a str>,
    pub access_key_id: Option<&'a str>,
    pub creation_date: Option<i64>,
    pub invoked_by: Option<&'a str>,
    pub issuer_arn: Option<&'a str>,
    pub issuer_type: Option<&'a str>,
    pub user_name: Option<&'a str>,
    pub identity_provider: Option<&'a str>,
    pub source_identity: Option<&'a str>,
    pub mfa_authenticated: Option<bool>,
    pub on_behalf_of_user_id: Option<&'a str>,
    pub on_behalf_of_store_arn: Option<&'a str>,
}

thread_local! {
    /// The encoding buffer, reused (no allocation per row).
    static BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

impl IdentityFields<'_> {
    /// The signature (see the module docs).
    pub fn signature(&self) -> u128 {
        BUF.with(|b| {
            let mut b = b.borrow_mut();
            b.clear();
            self.encode(&mut b);
            xxhash_rust::xxh3::xxh3_128(&b)
        })
    }

    fn encode(&self, b: &mut Vec<u8>) {
        fn s(b: &mut Vec<u8>, v: Option<&str>) {
            match v {
                None => b.push(0),
                Some(v) => {
                    b.push(1);
                    b.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    b.extend_from_slice(v.as_bytes());
                }
            }
        }
        s(b, self.identity_type);
        s(b, self.identity_arn);
        s(b, self.principal_id);
        s(b, self.identity_account);
        s(b, self.access_key_id);
        match self.creation_date {
            None => b.push(0),
            Some(t) => {
                b.push(1);
                b.extend_from_slice(&t.to_le_bytes());
            }
        }
        s(b, self.invoked_by);
        s(b, self.issuer_arn);
        s(b, self.issuer_type);
        s(b, self.user_name);
        s(b, self.identity_provider);
        s(b, self.source_identity);
        match self.mfa_authenticated {
            None => b.push(0),
            Some(v) => b.extend_from_slice(&[1, v as u8]),
        }
        s(b, self.on_behalf_of_user_id);
        s(b, self.on_behalf_of_store_arn);
    }
}

impl<'r> crate::table::EventRow<'r> {
    /// The row's identity fields.
    pub fn identity_fields(&self) -> IdentityFields<'_> {
        IdentityFields {
            identity_type: self.identity_type.as_deref(),
            identity_arn: self.identity_arn.as_deref(),
            principal_id: self.principal_id.as_deref(),
            identity_account: self.identity_account.as_deref(),
            access_key_id: self.access_key_id.as_deref(),
            creation_date: self.creation_date,
            invoked_by: self.invoked_by.as_deref(),
            issuer_arn: self.issuer_arn.as_deref(),
            issuer_type: self.issuer_type.as_deref(),
            user_name: self.user_name.as_deref(),
            identity_provider: self.identity_provider.as_deref(),
            source_identity: self.source_identity.as_deref(),
            mfa_authenticated: self.mfa_authenticated,
            on_behalf_of_user_id: self.on_behalf_of_user_id.as_deref(),
            on_behalf_of_store_arn: self.on_behalf_of_store_arn.as_deref(),
        }
    }
}

/// `sig` as 32 lowercase hex digits, most significant first (the `identity_sig` column).
pub fn to_hex(sig: u128, out: &mut [u8; 32]) -> &str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, o) in out.iter_mut().enumerate() {
        *o = DIGITS[((sig >> (124 - 4 * i)) & 0xf) as usize];
    }
    std::str::from_utf8(out).expect("hex digits are ASCII")
}

/// The signature written by `to_hex` (None when `hex` is not 32 hex digits).
pub fn from_hex(hex: &str) -> Option<u128> {
    if hex.len() != 32 {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_fields_are_told_apart() {
        let a = IdentityFields {
            identity_type: Some("AssumedRole"),
            access_key_id: Some("ASIAEXAMPLE"),
            creation_date: Some(1_700_000_000_000),
            ..Default::default()
        };
        let sig = a.signature();
        let mut buf = [0u8; 32];
        let hex = to_hex(sig, &mut buf).to_string();
        assert_eq!(hex.len(), 32);
        assert!(hex
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(from_hex(&hex), Some(sig));
        assert_eq!(from_hex("xyz"), None);
        assert_eq!(to_hex(1, &mut buf), "00000000000000000000000000000001");
        // The same bytes in another field, a null against an empty string, another time or
        // MFA flag: another signature.
        let moved = IdentityFields {
            identity_type: None,
            identity_arn: Some("AssumedRole"),
            ..a
        };
        let empty = IdentityFields {
            principal_id: Some(""),
            ..a
        };
        let later = IdentityFields {
            creation_date: Some(1_700_000_000_001),
            ..a
        };
        let mfa = IdentityFields {
            mfa_authenticated: Some(false),
            ..a
        };
        let sigs = [
            sig,
            moved.signature(),
            empty.signature(),
            later.signature(),
            mfa.signature(),
        ];
        for i in 0..sigs.len() {
            for j in 0..i {
                assert_ne!(sigs[i], sigs[j], "{i} vs {j}");
            }
        }
        // Stable: the specified XXH3-128 of the encoding, whatever the build.
        assert_eq!(
            IdentityFields::default().signature(),
            xxhash_rust::xxh3::xxh3_128(&[0; 15])
        );
    }
}
