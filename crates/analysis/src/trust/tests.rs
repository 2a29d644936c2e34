//! The evaluator against the documented semantics. Each group cites the AWS page it follows.

use super::eval::{principal_account, Tri3};
use super::*;
use serde_json::json;

const ROLE: &str = "arn:aws:iam::111111111111:role/Target";

fn user(arn: &str) -> Caller {
    Caller {
        kind: CallerKind::IamUser,
        arn: Some(arn.into()),
        account: trailgraph_log::model::arn_account(arn).map(String::from),
        principal_id: Some("AIDAEXAMPLEALICE".into()),
        ..Caller::default()
    }
}

fn alice() -> Caller {
    user("arn:aws:iam::111111111111:user/alice")
}

fn session(role: &str, name: &str) -> Caller {
    let acct = trailgraph_log::model::arn_account(role)
        .unwrap()
        .to_string();
    let rn = trailgraph_log::model::role_name(role);
    Caller {
        kind: CallerKind::AssumedRole,
        arn: Some(format!("arn:aws:sts::{acct}:assumed-role/{rn}/{name}")),
        account: Some(acct),
        principal_id: Some(format!("AROAEXAMPLEROLE:{name}")),
        role_arn: Some(role.into()),
        ..Caller::default()
    }
}

fn ctx(caller: Caller) -> Context {
    Context::new("sts:AssumeRole", ROLE, caller)
}

fn policy(v: serde_json::Value) -> Policy {
    Policy::from_value(&v).unwrap()
}

/// A trust policy allowing alice with one condition.
fn with_condition(op: &str, key: &str, values: serde_json::Value) -> Policy {
    policy(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:user/alice"},
            "Action": "sts:AssumeRole",
            "Condition": {op: {key: values}}
        }]
    }))
}

fn decide(p: &Policy, c: &Context) -> Decision {
    evaluate(p, c).decision
}

/// The decision of `op key values` for a request where `key` has `value` (None: absent).
fn cond(op: &str, key: &str, values: serde_json::Value, value: Option<&str>) -> Decision {
    let p = with_condition(op, key, values);
    let mut c = ctx(alice());
    match value {
        Some(v) => c.set(key, v),
        None => c.absent(key),
    };
    decide(&p, &c)
}

use Decision::{Allow, Deny, Unknown};

// --- Principal element ---------------------------------------------------------------------
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html

#[test]
fn principal_user_arn_is_enough_in_the_same_account() {
    let p = policy(json!({"Statement": {"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:user/alice"}, "Action": "sts:AssumeRole"}}));
    let v = evaluate(&p, &ctx(alice()));
    assert_eq!(v.decision, Allow);
    assert_eq!(v.statement, Some(0));
    let bob = user("arn:aws:iam::111111111111:user/bob");
    let v = evaluate(&p, &ctx(bob));
    assert_eq!(v.decision, Deny);
    assert_eq!(v.reason, "principal not trusted");
}

#[test]
fn role_arn_matches_every_session_of_the_role_and_session_arn_one() {
    let r = "arn:aws:iam::111111111111:role/ops/Deployer";
    let p = policy(
        json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": r}, "Action": "sts:AssumeRole"}}),
    );
    assert_eq!(decide(&p, &ctx(session(r, "a"))), Allow);
    assert_eq!(decide(&p, &ctx(session(r, "b"))), Allow);
    assert_eq!(
        decide(
            &p,
            &ctx(session("arn:aws:iam::111111111111:role/Other", "a"))
        ),
        Deny
    );
    let one = policy(json!({"Statement": {"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:sts::111111111111:assumed-role/Deployer/a"}, "Action": "sts:AssumeRole"}}));
    assert_eq!(decide(&one, &ctx(session(r, "a"))), Allow);
    assert_eq!(decide(&one, &ctx(session(r, "b"))), Deny);
}

#[test]
fn unique_ids_match_the_principal_id() {
    // "…the principal ARN is transformed to a unique principal ID…" (deleted principals).
    let p = policy(
        json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": ["AIDAEXAMPLEALICE"]}, "Action": "sts:AssumeRole"}}),
    );
    assert_eq!(decide(&p, &ctx(alice())), Allow);
    let r = policy(
        json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "AROAEXAMPLEROLE"}, "Action": "sts:AssumeRole"}}),
    );
    assert_eq!(
        decide(&r, &ctx(session("arn:aws:iam::111111111111:role/X", "s"))),
        Allow
    );
    assert_eq!(decide(&r, &ctx(alice())), Deny);
}

#[test]
fn account_principal_needs_the_identity_side() {
    // "AWS": "123456789012" is the same as "arn:aws:iam::123456789012:root": it delegates to the
    // account; the caller's identity policy must also allow.
    for who in ["111111111111", "arn:aws:iam::111111111111:root"] {
        let p = policy(
            json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": who}, "Action": "sts:AssumeRole"}}),
        );
        let v = evaluate(&p, &ctx(alice()));
        assert_eq!(v.decision, Unknown, "{who}");
        assert_eq!(v.needs_identity.as_deref(), Some("111111111111"));
        assert!(v.reason.contains("identity policy"), "{}", v.reason);
        let mut c = ctx(alice());
        c.identity = Side::Allow;
        assert_eq!(decide(&p, &c), Allow);
        c.identity = Side::Deny("no sts:AssumeRole".into());
        assert_eq!(decide(&p, &c), Deny);
        // Another account's callers are not named.
        let mut other = ctx(user("arn:aws:iam::222222222222:user/eve"));
        other.identity = Side::Allow;
        assert_eq!(decide(&p, &other), Deny);
    }
    assert_eq!(principal_account("222222222222"), Some("222222222222"));
    assert_eq!(principal_account("arn:aws:iam::222222222222:user/x"), None);
}

#[test]
fn cross_account_caller_needs_the_identity_side_even_when_named() {
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
    let eve = "arn:aws:iam::222222222222:user/eve";
    let p = policy(
        json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": eve}, "Action": "sts:AssumeRole"}}),
    );
    let v = evaluate(&p, &ctx(user(eve)));
    assert_eq!(v.decision, Unknown);
    assert_eq!(v.needs_identity.as_deref(), Some("222222222222"));
    let mut c = ctx(user(eve));
    c.identity = Side::Allow;
    assert_eq!(decide(&p, &c), Allow);
}

#[test]
fn star_service_and_federated_principals() {
    let any = policy(
        json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}}),
    );
    assert_eq!(decide(&any, &ctx(alice())), Allow);
    let star = policy(
        json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}}),
    );
    assert_eq!(decide(&star, &ctx(alice())), Allow);
    let svc = policy(
        json!({"Statement": {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]}, "Action": "sts:AssumeRole"}}),
    );
    let ec2 = Caller {
        kind: CallerKind::Service,
        service: Some("ec2.amazonaws.com".into()),
        ..Caller::default()
    };
    assert_eq!(decide(&svc, &ctx(ec2)), Allow);
    assert_eq!(decide(&svc, &ctx(alice())), Deny);
    let saml_arn = "arn:aws:iam::111111111111:saml-provider/Okta";
    let fed = policy(
        json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": saml_arn},
        "Action": "sts:AssumeRoleWithSAML", "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}}),
    );
    let saml = Caller {
        kind: CallerKind::Saml,
        provider: Some(saml_arn.into()),
        ..Caller::default()
    };
    let mut c = Context::new("sts:AssumeRoleWithSAML", ROLE, saml.clone());
    c.set("saml:aud", "https://signin.aws.amazon.com/saml");
    assert_eq!(decide(&fed, &c), Allow);
    // The call is AssumeRoleWithSAML: an AssumeRole by the same provider is not allowed.
    let mut wrong = Context::new("sts:AssumeRole", ROLE, saml);
    wrong.set("saml:aud", "https://signin.aws.amazon.com/saml");
    assert_eq!(decide(&fed, &wrong), Deny);
    // OIDC: the provider ARN in the policy, the host in CloudTrail.
    let gh = policy(json!({"Statement": {"Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*:ref:refs/heads/main"}}}}));
    let web = Caller {
        kind: CallerKind::WebIdentity,
        provider: Some("token.actions.githubusercontent.com".into()),
        ..Caller::default()
    };
    let mut c = Context::new("sts:AssumeRoleWithWebIdentity", ROLE, web.clone());
    c.set(
        "token.actions.githubusercontent.com:sub",
        "repo:acme/app:ref:refs/heads/main",
    );
    assert_eq!(decide(&gh, &c), Allow);
    let mut c = Context::new("sts:AssumeRoleWithWebIdentity", ROLE, web);
    c.set(
        "token.actions.githubusercontent.com:sub",
        "repo:evil/app:ref:refs/heads/main",
    );
    assert_eq!(decide(&gh, &c), Deny);
}

#[test]
fn not_principal_allows_everyone_but() {
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
    let p = policy(json!({"Statement": {"Effect": "Allow",
        "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:user/alice"}, "Action": "sts:AssumeRole"}}));
    assert_eq!(decide(&p, &ctx(alice())), Deny);
    let mut c = ctx(user("arn:aws:iam::111111111111:user/bob"));
    c.identity = Side::Allow;
    assert_eq!(decide(&p, &c), Allow);
    let deny_all_but = policy(json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111111111111:user/alice", "arn:aws:iam::111111111111:user/bob"]}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:user/alice"}, "Action": "sts:AssumeRole"}]}));
    assert_eq!(decide(&deny_all_but, &ctx(alice())), Allow);
    let v = evaluate(
        &deny_all_but,
        &ctx(user("arn:aws:iam::111111111111:user/bob")),
    );
    assert_eq!((v.decision, v.statement), (Deny, Some(1)));
}

// --- Deny over Allow, Action / NotAction -----------------------------------------------------
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html

#[test]
fn explicit_deny_wins_and_names_its_statement() {
    let p = policy(json!({"Statement": [
        {"Sid": "Ok", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:user/alice"}, "Action": "sts:AssumeRole"},
        {"Sid": "NoOffice", "Effect": "Deny", "Principal": "*", "Action": "sts:*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}));
    let mut c = ctx(alice());
    c.set("aws:SourceIp", "198.51.100.7");
    let v = evaluate(&p, &c);
    assert_eq!(v.decision, Deny);
    assert_eq!(v.sid.as_deref(), Some("NoOffice"));
    assert_eq!(v.reason, "explicit Deny");
    c.set("aws:SourceIp", "203.0.113.9");
    assert_eq!(decide(&p, &c), Allow);
    // A Deny that may apply makes an Allow unknown, never allow.
    c.unknown("aws:SourceIp", "service hostname");
    let v = evaluate(&p, &c);
    assert_eq!((v.decision, v.reason.as_str()), (Unknown, "aws:SourceIp"));
}

#[test]
fn action_and_not_action_with_wildcards() {
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    let a = |action: serde_json::Value, not: bool| {
        let key = if not { "NotAction" } else { "Action" };
        policy(
            json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:user/alice"}, key: action}}),
        )
    };
    assert_eq!(decide(&a(json!("sts:*"), false), &ctx(alice())), Allow);
    assert_eq!(
        decide(&a(json!("STS:assumerole"), false), &ctx(alice())),
        Allow
    );
    assert_eq!(
        decide(&a(json!(["sts:AssumeRoleWith*"]), false), &ctx(alice())),
        Deny
    );
    assert_eq!(
        decide(&a(json!("sts:TagSession"), true), &ctx(alice())),
        Allow
    );
    assert_eq!(
        decide(&a(json!("sts:AssumeRole"), true), &ctx(alice())),
        Deny
    );
}

#[test]
fn tag_session_and_set_source_identity_are_authorised_too() {
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html (sts:TagSession),
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html
    let only = policy(json!({"Statement": {"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:user/alice"}, "Action": "sts:AssumeRole"}}));
    let both = policy(json!({"Statement": {"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:user/alice"},
        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}}));
    let mut c = ctx(alice());
    c.also.push("sts:TagSession".into());
    let v = evaluate(&only, &c);
    assert_eq!(
        (v.decision, v.reason.as_str()),
        (Deny, "no Allow for sts:TagSession")
    );
    assert_eq!(decide(&both, &c), Allow);
    let mut c = ctx(alice());
    c.also.push("sts:SetSourceIdentity".into());
    assert_eq!(decide(&only, &c), Deny);
    assert_eq!(decide(&both, &c), Allow);
    // Tags that may have been passed (payload not read): unknown where they would matter.
    let mut c = ctx(alice());
    c.maybe
        .push(("sts:TagSession".into(), "tags not read".into()));
    assert_eq!(decide(&only, &c), Unknown);
    assert_eq!(decide(&both, &c), Allow);
}

// --- Condition operators ----------------------------------------------------------------------
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

#[test]
fn string_operators() {
    let k = "sts:ExternalId";
    assert_eq!(cond("StringEquals", k, json!("Abc"), Some("Abc")), Allow);
    assert_eq!(cond("StringEquals", k, json!("Abc"), Some("abc")), Deny);
    assert_eq!(
        cond("StringEquals", k, json!(["x", "Abc"]), Some("Abc")),
        Allow
    );
    assert_eq!(
        cond("StringNotEquals", k, json!(["x", "y"]), Some("Abc")),
        Allow
    );
    assert_eq!(
        cond("StringNotEquals", k, json!(["x", "Abc"]), Some("Abc")),
        Deny
    );
    assert_eq!(
        cond("StringEqualsIgnoreCase", k, json!("ABC"), Some("abc")),
        Allow
    );
    assert_eq!(
        cond("StringNotEqualsIgnoreCase", k, json!("ABC"), Some("abc")),
        Deny
    );
    assert_eq!(cond("StringLike", k, json!("a*c?"), Some("abbcd")), Allow);
    assert_eq!(cond("StringLike", k, json!("a*c?"), Some("Abbcd")), Deny);
    assert_eq!(cond("StringNotLike", k, json!("a*"), Some("bcd")), Allow);
    assert_eq!(cond("StringNotLike", k, json!("a*"), Some("abc")), Deny);
}

#[test]
fn numeric_operators() {
    let k = "sts:DurationSeconds";
    assert_eq!(cond("NumericEquals", k, json!("3600"), Some("3600")), Allow);
    assert_eq!(
        cond("NumericNotEquals", k, json!("3600"), Some("3600")),
        Deny
    );
    assert_eq!(cond("NumericLessThan", k, json!(3600), Some("900")), Allow);
    assert_eq!(cond("NumericLessThan", k, json!(3600), Some("3600")), Deny);
    assert_eq!(
        cond("NumericLessThanEquals", k, json!("3600"), Some("3600")),
        Allow
    );
    assert_eq!(
        cond("NumericGreaterThan", k, json!("3600"), Some("3600")),
        Deny
    );
    assert_eq!(
        cond("NumericGreaterThanEquals", k, json!("3600"), Some("3600")),
        Allow
    );
    assert_eq!(cond("NumericEquals", k, json!("x"), Some("3600")), Deny);
}

#[test]
fn date_operators() {
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws-dates.html
    let k = "aws:CurrentTime";
    let t = Some("2024-03-01T12:00:00Z");
    assert_eq!(
        cond("DateLessThan", k, json!("2024-06-01T00:00:00Z"), t),
        Allow
    );
    assert_eq!(
        cond("DateGreaterThan", k, json!("2024-06-01T00:00:00Z"), t),
        Deny
    );
    assert_eq!(
        cond("DateGreaterThanEquals", k, json!("2024-03-01T12:00:00Z"), t),
        Allow
    );
    assert_eq!(
        cond("DateLessThanEquals", k, json!("2024-03-01T11:59:59Z"), t),
        Deny
    );
    assert_eq!(
        cond("DateEquals", k, json!("2024-03-01T12:00:00Z"), t),
        Allow
    );
    assert_eq!(
        cond("DateNotEquals", k, json!("2024-03-01T12:00:00Z"), t),
        Deny
    );
    // Epoch seconds and a bare date are dates too.
    assert_eq!(cond("DateGreaterThan", k, json!("1700000000"), t), Allow);
    assert_eq!(cond("DateLessThan", k, json!("2024-03-02"), t), Allow);
    assert_eq!(
        cond(
            "DateLessThan",
            "aws:EpochTime",
            json!("2024-03-02"),
            Some("1709294400")
        ),
        Allow
    );
}

#[test]
fn bool_and_binary_operators() {
    let k = "aws:MultiFactorAuthPresent";
    assert_eq!(cond("Bool", k, json!("true"), Some("true")), Allow);
    assert_eq!(cond("Bool", k, json!(true), Some("true")), Allow);
    assert_eq!(cond("Bool", k, json!("true"), Some("false")), Deny);
    assert_eq!(cond("Bool", k, json!("TRUE"), Some("true")), Allow);
    assert_eq!(
        cond("BinaryEquals", "aws:x", json!("QmluYXJ5"), Some("QmluYXJ5")),
        Allow
    );
    assert_eq!(
        cond("BinaryEquals", "aws:x", json!("QmluYXJ5"), Some("other")),
        Deny
    );
}

#[test]
fn ip_operators() {
    let k = "aws:SourceIp";
    assert_eq!(
        cond(
            "IpAddress",
            k,
            json!("203.0.113.0/24"),
            Some("203.0.113.200")
        ),
        Allow
    );
    assert_eq!(
        cond(
            "IpAddress",
            k,
            json!(["10.0.0.0/8", "203.0.113.5"]),
            Some("203.0.113.5")
        ),
        Allow
    );
    assert_eq!(
        cond(
            "IpAddress",
            k,
            json!("203.0.113.0/24"),
            Some("198.51.100.1")
        ),
        Deny
    );
    assert_eq!(
        cond("IpAddress", k, json!("2001:db8::/32"), Some("2001:db8::7")),
        Allow
    );
    assert_eq!(
        cond(
            "NotIpAddress",
            k,
            json!("203.0.113.0/24"),
            Some("198.51.100.1")
        ),
        Allow
    );
    assert_eq!(
        cond(
            "NotIpAddress",
            k,
            json!("203.0.113.0/24"),
            Some("203.0.113.1")
        ),
        Deny
    );
}

#[test]
fn arn_operators() {
    let k = "aws:PrincipalArn";
    let v = Some("arn:aws:iam::111111111111:user/alice");
    assert_eq!(
        cond(
            "ArnEquals",
            k,
            json!("arn:aws:iam::111111111111:user/alice"),
            v
        ),
        Allow
    );
    assert_eq!(
        cond("ArnLike", k, json!("arn:aws:iam::*:user/a*"), v),
        Allow
    );
    assert_eq!(
        cond("ArnLike", k, json!("arn:aws:iam::222222222222:*"), v),
        Deny
    );
    // Case-sensitive.
    assert_eq!(
        cond("ArnLike", k, json!("arn:aws:iam::*:user/ALICE"), v),
        Deny
    );
    assert_eq!(
        cond("ArnNotLike", k, json!("arn:aws:iam::*:role/*"), v),
        Allow
    );
    assert_eq!(
        cond(
            "ArnNotEquals",
            k,
            json!("arn:aws:iam::111111111111:user/alice"),
            v
        ),
        Deny
    );
}

#[test]
fn null_operator() {
    let k = "sts:ExternalId";
    assert_eq!(cond("Null", k, json!("true"), None), Allow);
    assert_eq!(cond("Null", k, json!("true"), Some("x")), Deny);
    assert_eq!(cond("Null", k, json!("false"), Some("x")), Allow);
    assert_eq!(cond("Null", k, json!(false), None), Deny);
}

// --- Missing keys -------------------------------------------------------------------------------
// "If the key that you specify in a policy condition is not present in the request context, the
// values do not match and the condition is false. If the policy condition requires that the key
// is not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the
// condition is true." (condition_operators page); …IfExists: "If the policy key is present in
// the context of the request, process the key as specified in the policy. If the key is not
// present, evaluate the condition element as true."

#[test]
fn a_missing_key_makes_positive_operators_false() {
    for (op, val) in [
        ("StringEquals", json!("x")),
        ("StringLike", json!("*")),
        ("StringEqualsIgnoreCase", json!("x")),
        ("NumericLessThan", json!("5")),
        ("DateLessThan", json!("2030-01-01T00:00:00Z")),
        ("Bool", json!("true")),
        ("IpAddress", json!("0.0.0.0/0")),
        ("ArnLike", json!("*")),
        ("BinaryEquals", json!("eA==")),
    ] {
        assert_eq!(cond(op, "aws:k", val, None), Deny, "{op}");
    }
}

#[test]
fn a_missing_key_makes_negated_operators_true() {
    for (op, val) in [
        ("StringNotEquals", json!("x")),
        ("StringNotEqualsIgnoreCase", json!("x")),
        ("StringNotLike", json!("*")),
        ("NumericNotEquals", json!("5")),
        ("DateNotEquals", json!("2030-01-01T00:00:00Z")),
        ("NotIpAddress", json!("0.0.0.0/0")),
        ("ArnNotEquals", json!("*")),
        ("ArnNotLike", json!("*")),
    ] {
        assert_eq!(cond(op, "aws:k", val, None), Allow, "{op}");
    }
}

#[test]
fn if_exists_is_true_for_a_missing_key_and_decides_a_present_one() {
    let k = "aws:MultiFactorAuthPresent";
    assert_eq!(cond("BoolIfExists", k, json!("true"), None), Allow);
    assert_eq!(cond("BoolIfExists", k, json!("true"), Some("false")), Deny);
    assert_eq!(cond("BoolIfExists", k, json!("true"), Some("true")), Allow);
    // The MFA pair of the research doc: a long-term-key caller has no MFA key at all.
    assert_eq!(cond("Bool", k, json!("true"), None), Deny);
    assert_eq!(
        cond("StringEqualsIfExists", "sts:ExternalId", json!("x"), None),
        Allow
    );
    assert_eq!(
        cond(
            "StringEqualsIfExists",
            "sts:ExternalId",
            json!("x"),
            Some("y")
        ),
        Deny
    );
    assert_eq!(
        cond(
            "IpAddressIfExists",
            "aws:SourceIp",
            json!("10.0.0.0/8"),
            None
        ),
        Allow
    );
    assert_eq!(
        cond("StringNotLikeIfExists", "aws:k", json!("a*"), Some("abc")),
        Deny
    );
}

#[test]
fn an_unobservable_key_is_unknown_and_named() {
    let p = with_condition("StringEquals", "aws:PrincipalOrgID", json!("o-abc"));
    let v = evaluate(&p, &ctx(alice()));
    assert_eq!(v.decision, Unknown);
    assert_eq!(v.reason, "aws:PrincipalOrgID");
    // The same with IfExists, Null and negated operators: unknown is never guessed.
    for op in ["StringEqualsIfExists", "StringNotEquals", "Null"] {
        let p = with_condition(op, "aws:PrincipalOrgID", json!("o-abc"));
        assert_eq!(decide(&p, &ctx(alice())), Unknown, "{op}");
    }
    // A false condition beside an unknown one decides: deny.
    let p = policy(json!({"Statement": {"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:user/alice"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc", "sts:ExternalId": "x"}}}}));
    let mut c = ctx(alice());
    c.absent("sts:ExternalId");
    let v = evaluate(&p, &c);
    assert_eq!(
        (v.decision, v.reason.as_str()),
        (Deny, "StringEquals sts:ExternalId")
    );
}

// --- Multiple values, keys and set operators -----------------------------------------------------
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html

#[test]
fn several_keys_and_operators_are_anded() {
    let p = policy(json!({"Statement": {"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:user/alice"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "x"}, "Bool": {"aws:MultiFactorAuthPresent": "true"}}}}));
    let mut c = ctx(alice());
    c.set("sts:ExternalId", "x")
        .set("aws:MultiFactorAuthPresent", "true");
    assert_eq!(decide(&p, &c), Allow);
    c.set("aws:MultiFactorAuthPresent", "false");
    let v = evaluate(&p, &c);
    assert_eq!(
        (v.decision, v.reason.as_str()),
        (Deny, "Bool aws:MultiFactorAuthPresent")
    );
}

#[test]
fn for_any_value_and_for_all_values() {
    let tags = |c: &mut Context, v: &[&str]| {
        c.set_many("aws:TagKeys", v.iter().map(|s| s.to_string()).collect());
    };
    let run = |op: &str, allowed: &[&str], req: Option<&[&str]>| {
        let p = with_condition(op, "aws:TagKeys", json!(allowed));
        let mut c = ctx(alice());
        match req {
            Some(r) => tags(&mut c, r),
            None => {
                c.absent("aws:TagKeys");
            }
        }
        decide(&p, &c)
    };
    assert_eq!(
        run(
            "ForAllValues:StringEquals",
            &["team", "cc"],
            Some(&["team"])
        ),
        Allow
    );
    assert_eq!(
        run(
            "ForAllValues:StringEquals",
            &["team", "cc"],
            Some(&["team", "x"])
        ),
        Deny
    );
    // ForAllValues is true for a missing or empty key.
    assert_eq!(run("ForAllValues:StringEquals", &["team"], None), Allow);
    assert_eq!(
        run("ForAllValues:StringEquals", &["team"], Some(&[])),
        Allow
    );
    assert_eq!(
        run("ForAnyValue:StringEquals", &["team"], Some(&["x", "team"])),
        Allow
    );
    assert_eq!(
        run("ForAnyValue:StringEquals", &["team"], Some(&["x"])),
        Deny
    );
    assert_eq!(run("ForAnyValue:StringEquals", &["team"], None), Deny);
    assert_eq!(
        run(
            "ForAnyValue:StringNotEquals",
            &["team"],
            Some(&["team", "x"])
        ),
        Allow
    );
    assert_eq!(
        run(
            "ForAllValues:StringNotEquals",
            &["team"],
            Some(&["team", "x"])
        ),
        Deny
    );
    assert_eq!(
        run("ForAllValues:StringLike", &["t*"], Some(&["team", "tier"])),
        Allow
    );
}

#[test]
fn request_tags_are_absent_once_the_tag_keys_are_known() {
    let p = with_condition("StringEquals", "aws:RequestTag/team", json!("blue"));
    let mut c = ctx(alice());
    assert_eq!(decide(&p, &c), Unknown);
    c.absent("aws:TagKeys");
    assert_eq!(decide(&p, &c), Deny);
    c.set_many("aws:TagKeys", vec!["team".into()]);
    c.set("aws:RequestTag/team", "blue");
    assert_eq!(decide(&p, &c), Allow);
}

// --- harden -----------------------------------------------------------------------------------

#[test]
fn harden_ands_the_condition_into_every_allow_statement() {
    let p = policy(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:user/alice"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111111111111:user/bob"}, "Action": "sts:AssumeRole"}]}));
    let mfa = Condition::new("Bool", "aws:MultiFactorAuthPresent", &["true"]);
    let h = harden(&p, &mfa);
    assert_eq!(h.statements[0].conditions, vec![mfa.clone()]);
    assert_eq!(h.statements[1].conditions, vec![mfa.clone()]);
    assert!(h.statements[2].conditions.is_empty());
    let mut c = ctx(alice());
    c.absent("aws:MultiFactorAuthPresent");
    assert_eq!(decide(&p, &c), Allow);
    let v = evaluate(&h, &c);
    assert_eq!(
        (v.decision, v.reason.as_str()),
        (Deny, "Bool aws:MultiFactorAuthPresent")
    );
    let soft = harden(
        &p,
        &Condition::new("BoolIfExists", "aws:MultiFactorAuthPresent", &["true"]),
    );
    assert_eq!(decide(&soft, &c), Allow);
    // Hardening twice with the same condition changes nothing more.
    assert_eq!(harden(&h, &mfa), h);
    // Written back: a Condition block IAM accepts.
    let j = h.to_json().unwrap();
    assert_eq!(
        j["Statement"][1]["Condition"],
        json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    );
    assert_eq!(Policy::from_value(&j).unwrap(), h);
    // A second condition on the same operator and key cannot be written in one block.
    let h2 = harden(
        &h,
        &Condition::new("Bool", "aws:MultiFactorAuthPresent", &["false"]),
    );
    assert!(h2.to_json().unwrap_err().contains("statement 1"));
}

// --- Encodings ----------------------------------------------------------------------------------
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
// ("URL-encoded compliant with RFC 3986"; the CLI and boto3 decode them into objects).

#[test]
fn a_url_encoded_document_is_decoded_exactly_once() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"a%2Fb"}}}]}"#;
    let encoded: String =
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string();
    let from_object = Policy::from_document(&serde_json::from_str(text).unwrap()).unwrap();
    let from_string = Policy::from_document(&json!(encoded)).unwrap();
    let from_plain_string = Policy::from_document(&json!(text)).unwrap();
    assert_eq!(from_object, from_string);
    assert_eq!(from_object, from_plain_string);
    // The literal %2F survives: decoded once, not twice.
    assert_eq!(
        from_string.statements[0].conditions[0].values,
        vec!["a%2Fb"]
    );
    assert!(Policy::from_document(&json!("%7Bnot json")).is_err());
    assert!(Policy::from_document(&json!(42)).is_err());
}

#[test]
fn lenient_forms_of_the_grammar() {
    // Statement as an object, Principal values as strings or arrays, empty Condition, numeric
    // and boolean condition values.
    let p = policy(
        json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": ["111111111111"], "Service": "ec2.amazonaws.com"},
        "Action": ["sts:AssumeRole"], "Condition": {}}}),
    );
    assert_eq!(p.statements.len(), 1);
    assert!(p.statements[0].conditions.is_empty());
    assert!(
        Policy::from_value(&json!({"Statement": [{"Effect": "Maybe", "Action": "x"}]}))
            .unwrap_err()
            .contains("statement 1")
    );
    let d = with_condition("NumericLessThan", "sts:DurationSeconds", json!(3600)).describe();
    assert_eq!(
        d,
        ["Allow AWS arn:aws:iam::111111111111:user/alice (sts:AssumeRole) if NumericLessThan sts:DurationSeconds 3600"]
    );
}

#[test]
fn principal_matching_is_exposed_for_unused_trust() {
    let (m, via) = eval::principal_value_matches("AWS", "111111111111", &alice());
    assert_eq!((m, via), (Tri3::Yes, true));
    let (m, _) = eval::principal_value_matches("Service", "ec2.amazonaws.com", &alice());
    assert_eq!(m, Tri3::No);
    let unknown = Caller::default();
    let (m, _) =
        eval::principal_value_matches("AWS", "arn:aws:iam::111111111111:user/alice", &unknown);
    assert_eq!(m, Tri3::Unknown);
}
