//! Maps one wire record to an `events` row, and STS issuance calls also to an `issuances` row
//! (spec 2.3, 2.4). Pure: no I/O, no global state. Request/response payloads stay raw JSON
//! except for the issuance calls, where they are parsed into the issuance columns.

use crate::model::{parse_expiration, parse_time, IssuanceKind};
use crate::record::{
    payload, RawAdditional, RawConsoleResponse, RawKeyRequest, RawRecord, RawServiceDetails,
    RawStsRequest, RawStsResponse,
};
use crate::table::{EventRow, IssuanceRow};
use std::borrow::Cow;

fn own<'a>(s: Option<&'a str>) -> Option<Cow<'a, str>> {
    s.map(Cow::Borrowed)
}

/// Fills `row` from `rec`. Returns the issuance row when the record is an STS issuance call.
pub fn normalize<'r>(
    rec: &'r RawRecord<'_>,
    source_file: &'r str,
    record_index: u64,
) -> (EventRow<'r>, Option<IssuanceRow<'r>>) {
    let event_time = rec
        .event_time
        .get()
        .and_then(parse_time)
        .or_else(|| rec.at_timestamp.get().and_then(parse_time));
    let uio = rec.user_identity.as_ref();
    let sc = uio.and_then(|u| u.session_context.as_ref());
    let issuer = sc.and_then(|c| c.session_issuer.as_ref());
    let attrs = sc.and_then(|c| c.attributes.as_ref());
    let creation_date = attrs
        .and_then(|a| a.creation_date.get())
        .and_then(parse_time);

    let mut row = EventRow {
        event_id: own(rec.event_id.non_empty()),
        event_time,
        event_name: own(rec.event_name.get()),
        event_source: own(rec.event_source.get()),
        event_type: own(rec.event_type.get()),
        event_category: own(rec.event_category.get()),
        event_version: own(rec.event_version.get()),
        aws_region: own(rec.aws_region.get()),
        recipient_account: own(rec.recipient_account.non_empty()),
        source_ip: own(rec.source_ip.get()),
        user_agent: own(rec.user_agent.get()),
        error_code: own(rec.error_code.non_empty()),
        error_message: own(rec.error_message.get()),
        read_only: rec.read_only.0,
        management_event: rec.management_event.0,
        request_id: own(rec.request_id.non_empty()),
        shared_event_id: own(rec.shared_event_id.non_empty()),
        identity_type: own(uio.and_then(|u| u.kind.non_empty())),
        identity_arn: own(uio.and_then(|u| u.arn.non_empty())),
        principal_id: own(uio.and_then(|u| u.principal_id.non_empty())),
        identity_account: own(uio.and_then(|u| u.account_id.non_empty())),
        access_key_id: own(uio.and_then(|u| u.access_key_id.non_empty())),
        user_name: own(uio.and_then(|u| u.user_name.non_empty())),
        invoked_by: own(uio.and_then(|u| u.invoked_by.non_empty())),
        issuer_type: own(issuer.and_then(|i| i.kind.non_empty())),
        issuer_arn: own(issuer.and_then(|i| i.arn.non_empty())),
        issuer_account: own(issuer.and_then(|i| i.account_id.non_empty())),
        issuer_principal_id: own(issuer.and_then(|i| i.principal_id.non_empty())),
        creation_date,
        mfa_authenticated: attrs.and_then(|a| a.mfa_authenticated.0),
        source_identity: own(sc.and_then(|c| c.source_identity.non_empty())),
        on_behalf_of_user_id: own(uio
            .and_then(|u| u.on_behalf_of.as_ref())
            .and_then(|o| o.user_id.non_empty())),
        on_behalf_of_store_arn: own(uio
            .and_then(|u| u.on_behalf_of.as_ref())
            .and_then(|o| o.identity_store_arn.non_empty())),
        identity_provider: own(uio.and_then(|u| u.identity_provider.non_empty())),
        credential_id: own(uio.and_then(|u| u.credential_id.non_empty())),
        web_id_provider: own(sc
            .and_then(|c| c.web_id.as_ref())
            .and_then(|w| w.federated_provider.non_empty())),
        ec2_role_delivery: own(sc.and_then(|c| c.ec2_role_delivery.non_empty())),
        assumed_root: sc.and_then(|c| c.assumed_root.0),
        session_credential_from_console: rec.session_credential_from_console.0,
        in_scope_of_issued_to: own(uio
            .and_then(|u| u.in_scope_of.as_ref())
            .and_then(|s| s.credentials_issued_to.non_empty())),
        switch_from: None,
        console_login_result: None,
        console_mfa_used: None,
        sso_account_id: None,
        sso_role_name: None,
        request_access_key_id: None,
        request_key_status: None,
        request_user_name: None,
        request_parameters: rec.request_parameters.map(|r| Cow::Borrowed(r.get())),
        response_elements: rec.response_elements.map(|r| Cow::Borrowed(r.get())),
        additional_event_data: rec.additional_event_data.map(|r| Cow::Borrowed(r.get())),
        service_event_details: rec.service_event_details.map(|r| Cow::Borrowed(r.get())),
        resources: rec.resources.map(|r| Cow::Borrowed(r.get())),
        source_file: Some(Cow::Borrowed(source_file)),
        record_index,
        // Set by ingest (the signature of the fields above, written through the arena).
        identity_sig: None,
    };

    match rec.event_name.get() {
        Some("SwitchRole") => {
            let add: RawAdditional = payload(rec.additional_event_data);
            row.switch_from = add.switch_from.0;
        }
        Some("ConsoleLogin") => {
            let add: RawAdditional = payload(rec.additional_event_data);
            row.switch_from = add.switch_from.0;
            row.console_mfa_used = add.mfa_used.0;
            let resp: RawConsoleResponse = payload(rec.response_elements);
            row.console_login_result = resp.console_login.0;
        }
        Some("GetRoleCredentials") | Some("Federate") => {
            let d: RawServiceDetails = payload(rec.service_event_details);
            row.sso_account_id = d.account_id.0;
            row.sso_role_name = d.role_name.0;
        }
        Some(
            "UpdateAccessKey" | "DeleteAccessKey" | "CreateAccessKey" | "CreateLoginProfile"
            | "DeleteLoginProfile" | "UpdateLoginProfile",
        ) => {
            let k: RawKeyRequest = payload(rec.request_parameters);
            row.request_access_key_id = k.access_key_id.0;
            row.request_key_status = k.status.0;
            row.request_user_name = k.user_name.0.filter(|s| !s.is_empty());
        }
        Some(
            "CreateUser"
            | "DeleteUser"
            | "AttachUserPolicy"
            | "DetachUserPolicy"
            | "PutUserPolicy"
            | "DeleteUserPolicy"
            | "AddUserToGroup"
            | "RemoveUserFromGroup",
        ) if rec.event_source.get() == Some("iam.amazonaws.com") => {
            let k: RawKeyRequest = payload(rec.request_parameters);
            row.request_user_name = k.user_name.0.filter(|s| !s.is_empty());
        }
        _ => {}
    }

    let iss = IssuanceKind::from_event(rec.event_source.get(), rec.event_name.get())
        .map(|kind| issuance(rec, kind, &row, source_file, record_index));
    (row, iss)
}

fn issuance<'r>(
    rec: &'r RawRecord<'_>,
    kind: IssuanceKind,
    ev: &EventRow<'r>,
    source_file: &'r str,
    record_index: u64,
) -> IssuanceRow<'r> {
    let req: RawStsRequest = payload(rec.request_parameters);
    let resp: RawStsResponse = payload(rec.response_elements);
    let creds = resp.credentials.as_ref();
    let aru = resp.assumed_role_user.as_ref();
    let fed = resp.federated_user.as_ref();
    let mut role_arn = req.role_arn.0.clone();
    if role_arn.is_none() && kind == IssuanceKind::AssumeRole {
        // A denied AssumeRole has null requestParameters; the role is only in errorMessage
        // (spec 2.4.9): "... is not authorized to perform: sts:AssumeRole on resource: <arn>".
        role_arn = rec
            .error_message
            .get()
            .and_then(role_from_error)
            .map(|s| Cow::Owned(s.to_string()));
    }
    let (saml_provider, saml_subject, saml_subject_type, saml_issuer) =
        if kind == IssuanceKind::AssumeRoleWithSAML {
            (
                req.principal_arn.0.clone(),
                resp.subject.0.clone(),
                resp.subject_type.0.clone(),
                resp.issuer.0.clone(),
            )
        } else {
            (None, None, None, None)
        };
    let (oidc_provider, oidc_subject, oidc_audience) =
        if kind == IssuanceKind::AssumeRoleWithWebIdentity {
            let ui = rec.user_identity.as_ref();
            (
                resp.provider
                    .0
                    .clone()
                    .or_else(|| ui.and_then(|u| u.identity_provider.0.clone())),
                resp.subject_from_web_identity_token
                    .0
                    .clone()
                    .or_else(|| ui.and_then(|u| u.user_name.0.clone())),
                resp.audience.0.clone(),
            )
        } else {
            (None, None, None)
        };
    IssuanceRow {
        event_id: ev.event_id.clone(),
        event_time: ev.event_time,
        kind: Some(Cow::Borrowed(kind.as_str())),
        recipient_account: ev.recipient_account.clone(),
        aws_region: ev.aws_region.clone(),
        shared_event_id: ev.shared_event_id.clone(),
        request_id: ev.request_id.clone(),
        error_code: ev.error_code.clone(),
        source_ip: ev.source_ip.clone(),
        user_agent: ev.user_agent.clone(),
        caller_type: ev.identity_type.clone(),
        caller_arn: ev.identity_arn.clone(),
        caller_principal_id: ev.principal_id.clone(),
        caller_account: ev.identity_account.clone(),
        caller_access_key_id: ev.access_key_id.clone(),
        caller_creation_date: ev.creation_date,
        caller_invoked_by: ev.invoked_by.clone(),
        caller_issuer_arn: ev.issuer_arn.clone(),
        caller_issuer_type: ev.issuer_type.clone(),
        caller_user_name: ev.user_name.clone(),
        caller_identity_provider: ev.identity_provider.clone(),
        caller_source_identity: ev.source_identity.clone(),
        caller_mfa_authenticated: ev.mfa_authenticated,
        role_arn,
        role_session_name: req.role_session_name.0.filter(|s| !s.is_empty()),
        external_id: req.external_id.0,
        serial_number: req.serial_number.0.filter(|s| !s.is_empty()),
        duration_seconds: req.duration_seconds.get().and_then(|d| d.parse().ok()),
        source_identity: resp
            .source_identity
            .0
            .clone()
            .or(req.source_identity.0)
            .filter(|s| !s.is_empty()),
        issued_access_key_id: creds
            .and_then(|c| c.access_key_id.0.clone())
            .filter(|s| !s.is_empty()),
        assumed_role_arn: aru.and_then(|a| a.arn.0.clone()),
        assumed_role_id: aru.and_then(|a| a.assumed_role_id.0.clone()),
        expiration: creds
            .and_then(|c| c.expiration.get())
            .and_then(parse_expiration),
        saml_provider_arn: saml_provider,
        saml_subject,
        saml_subject_type,
        saml_issuer,
        oidc_provider,
        oidc_subject,
        oidc_audience,
        federated_user_arn: fed.and_then(|f| f.arn.0.clone()),
        federated_user_id: fed.and_then(|f| f.federated_user_id.0.clone()),
        target_principal: req.target_principal.0,
        task_policy_arn: req.task_policy_arn.and_then(|t| t.arn.0),
        source_file: Some(Cow::Borrowed(source_file)),
        record_index,
    }
}

/// Extracts the role ARN from an AccessDenied message of a failed AssumeRole.
pub(crate) fn role_from_error(msg: &str) -> Option<&str> {
    let i = msg.find("on resource: ")?;
    let rest = &msg[i + "on resource: ".len()..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == ',')
        .unwrap_or(rest.len());
    let arn = rest[..end].trim_end_matches('.');
    arn.starts_with("arn:").then_some(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_from_access_denied() {
        let m = "User: arn:aws:iam::321848314756:user/christophe is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::321848314756:role/stratus-red-team-get-usr-data-role";
        assert_eq!(
            role_from_error(m),
            Some("arn:aws:iam::321848314756:role/stratus-red-team-get-usr-data-role")
        );
        assert_eq!(role_from_error("Access denied"), None);
    }

    /// The typed columns read from ConsoleLogin and IAM user-call payloads.
    #[test]
    fn console_login_and_iam_user_columns() {
        let doc: &[u8] = br#"{"Records":[
            {"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/","MFAUsed":"No","MobileVersion":"No"}},
            {"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":"not an object"},
            {"eventName":"CreateLoginProfile","eventSource":"iam.amazonaws.com","requestParameters":{"passwordResetRequired":false,"userName":"bob"}},
            {"eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","requestParameters":null},
            {"eventName":"AttachUserPolicy","eventSource":"iam.amazonaws.com","requestParameters":{"userName":"carol","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}},
            {"eventName":"CreateUser","eventSource":"transfer.amazonaws.com","requestParameters":{"userName":"sftp"}},
            {"eventName":"ListUsers","eventSource":"iam.amazonaws.com","requestParameters":{"userName":"x"}}
        ]}"#;
        let mut rows = Vec::new();
        crate::record::walk(doc, &mut |item| {
            if let crate::record::Item::Record(rec) = item {
                let (row, _) = normalize(rec, "f.json", 0);
                let s = |v: &Option<Cow<str>>| v.as_deref().map(String::from);
                rows.push((
                    s(&row.console_login_result),
                    s(&row.console_mfa_used),
                    s(&row.request_user_name),
                ));
            }
        });
        let some = |v: &str| Some(v.to_string());
        assert_eq!(
            rows,
            [
                (some("Success"), some("No"), None),
                (some("Failure"), None, None),
                (None, None, some("bob")),
                (None, None, None),
                (None, None, some("carol")),
                (None, None, None),
                (None, None, None),
            ]
        );
    }

    /// The records fuzz target's input (minimised): an issuance whose credentials expiration
    /// holds a day too large for a number panicked (arithmetic overflow) in `parse_expiration`.
    /// The event and its issuance are kept, without an expiration.
    #[test]
    fn expiration_too_large_is_absent() {
        let doc: &[u8] = br#"{"eventName":"AssumeRole","responseElements":{"credentials":{"expiration":"Jul , 9999999807"}}}"#;
        let mut rows = Vec::new();
        crate::record::walk(doc, &mut |item| {
            if let crate::record::Item::Record(rec) = item {
                let (row, iss) = normalize(rec, "f.json", 0);
                let iss = iss.expect("an AssumeRole issuance");
                rows.push((row.event_name.map(|s| s.into_owned()), iss.expiration));
            }
        });
        assert_eq!(rows, [(Some("AssumeRole".to_string()), None)]);
    }
}
