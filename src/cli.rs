//! The command-line surface, and nothing else: clap definitions, their help texts, and their
//! conversion into the plain settings each command takes (`cmd::Command`). No I/O and no
//! polars here: a flag is added here and in its command's settings.

use crate::cmd::{self, Command as Run};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use trailgraph_analysis::anomalies::{Cidr, TimeZone, Window};
use trailgraph_analysis::answer::SessionFilter;
use trailgraph_analysis::trust::{Hardening, Hours, Mfa, Zone};
use trailgraph_log::model::{parse_when, parse_when_end};
use trailgraph_output::export::GraphFormat as Graph;
use trailgraph_output::render::Format as Table;
use trailgraph_output::timeline::TimelineFormat as Timeline;

const EXAMPLES: &str = "\
Examples:
  trailgraph ingest ./AWSLogs -o case/             parse every log once, write the case store
  trailgraph summary case/                         what is in it, and what is missing
  trailgraph attribute case/ --format csv -o a.csv one row per event: who is behind it
  trailgraph who case/ <event-id | key | session ARN | principalId>
  trailgraph trace case/ arn:aws:iam::111111111111:user/alice   everything done through any chain
  trailgraph anomalies case/                       role-chain abuse, stolen workload credentials, …
  trailgraph hunt case/                            Sigma rules, each hit with the origin behind it
  trailgraph trust case/ --iam gaad.json           who may assume each role, who did, findings
  trailgraph whatif case/ --iam iam/ --role deploy --require-mfa   which assumptions would break
  trailgraph report case/ -o report/               HTML report + CSV/JSON tables

INPUT is any mix of log files (.json, .json.gz, NDJSON, .zip, EventBridge, LookupEvents and
CloudWatch exports), directories (searched recursively), and case directories made by ingest.

Exit codes: 0 clean; 1 finished, but some input was skipped (each problem is listed on stderr);
2 fatal error, or any problem with --strict.";

#[derive(Parser, Debug)]
#[command(
    name = "trailgraph",
    version,
    about = "Which real person or workload is behind this AWS API call? Session stitching over CloudTrail logs.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse CloudTrail logs into a case store (Parquet tables + manifest)
    #[command(after_help = "Examples:
  trailgraph ingest ./AWSLogs -o case/
  trailgraph ingest more-logs/ -o case/          adds only files not yet in the case
  trailgraph ingest ./AWSLogs -o case/ --strict  fail (exit 2) on any unreadable input
  trailgraph ingest ./AWSLogs -o case/ --iam gaad-*.json   keep the IAM configuration too
  trailgraph ingest ./AWSLogs -o case/ --partition account,date   other partition directories
  trailgraph ingest s3://trail/AWSLogs/o-1/111122223333/ -o s3://cases/inc-42   one worker of many

The case is Hive-style Parquet: events/account=<A>/region=<R>/date=<YYYY-MM-DD>/part-<RUN>-<SEQ>.parquet,
issuances/part-<RUN>-00000.parquet and manifests/<RUN>.json (one manifest per run, written last).
Several runs, on several machines at once, may write into one case (local or s3://); readers
merge their manifests and keep one copy of an event ingested by more than one run.")]
    Ingest(IngestArgs),
    /// Show what is in the input: counts, time range, accounts, regions, principals, issuances
    #[command(after_help = "Examples:
  trailgraph summary case/
  trailgraph summary ./AWSLogs --format json")]
    Summary(SummaryArgs),
    /// One row per event: who is behind it (origin, role chain, depth, confidence)
    #[command(
        after_help = "Columns: event_id, event_time, event_name, event_source, recipient_account,
aws_region, source_ip, access_key_id, session_id, origin, chain, depth, confidence, source_identity

Examples:
  trailgraph attribute case/ --format csv -o attribution.csv
  trailgraph attribute ./AWSLogs --format parquet -o attribution.parquet
  trailgraph attribute case/ --format ndjson | jq 'select(.depth > 1)'"
    )]
    Attribute(AttributeArgs),
    /// The identity map: every event's attribution by identity signature, for an engine's join
    #[command(
        after_help = "Writes MAP/identities.parquet (identity_sig, valid_from, valid_to, then
session_id, origin, chain, depth, confidence, source_identity exactly as `attribute --format
parquet` writes them), MAP/events.parquet (recipient_account, event_id, then the same columns:
the events whose answer does not follow from their signature) and MAP/resolve.json (counts, the
case). An event's attribution: its events row if one matches (recipient_account, event_id), else
the identities row of its identity_sig whose interval holds its event_time (null = open).
Memory grows with sessions and distinct identities, not events. See docs/resolve.md.

Examples:
  trailgraph resolve case/ -o map/
  trailgraph resolve s3://bucket/case/ -o map/
  trailgraph resolve ./AWSLogs -o map/            logs go through a scratch case first"
    )]
    Resolve(ResolveArgs),
    /// Provenance of one event id, access key id, session ARN or principalId, as a tree
    #[command(after_help = "Examples:
  trailgraph who case/ 4839af5e-7b6a-4353-a5ef-41febc9a9fa8     an event
  trailgraph who case/ ASIAP5CT9NN8EYVU1FXV                     a temporary key
  trailgraph who case/ arn:aws:sts::111111111111:assumed-role/Admin/alice
  trailgraph who case/ AROALHCCSKSM395EGX3XN:i-0abc --format json")]
    Who(WhoArgs),
    /// Blast radius: every session descending from an identity or key, and what they did
    #[command(after_help = "Examples:
  trailgraph trace case/ arn:aws:iam::111111111111:user/alice
  trailgraph trace case/ AKIAIOSFODNN7EXAMPLE --since 2024-07-01
  trailgraph trace case/ service:ec2.amazonaws.com --format json")]
    Trace(TraceArgs),
    /// One row per issued session (temporary key), with origin, chain and use
    #[command(after_help = "Examples:
  trailgraph sessions case/ --min-depth 2
  trailgraph sessions case/ --cross-account --format csv -o cross.csv
  trailgraph sessions case/ --origin arn:aws:iam::111111111111:user/alice")]
    Sessions(ListArgs),
    /// One row per distinct role chain (origin → roles), with counts
    #[command(after_help = "Examples:
  trailgraph chains case/
  trailgraph chains case/ --min-depth 3 --format json")]
    Chains(ListArgs),
    /// Findings on sessions and chains: role-chain abuse, stolen workload credentials, …
    Anomalies(AnomaliesArgs),
    /// Sigma rules over every event, each hit attributed to the human or workload behind it
    Hunt(HuntArgs),
    /// Per role: who may assume it (the trust policy), who did (callers and their origins), findings
    Trust(TrustArgs),
    /// What if a role's trust policy were hardened: which observed assumptions would be denied
    Whatif(WhatifArgs),
    /// Write a self-contained HTML report (plus Markdown, CSV and JSON tables)
    Report(ReportArgs),
    /// Run SQL over the tables events, issuances, sessions, attribution, anomalies
    Query(QueryArgs),
    /// Export the identity/session graph (DOT, GraphML, JSON, Neo4j CSV)
    Graph(GraphArgs),
    /// Write the attributed events as a Timesketch timeline (JSONL or CSV)
    Timeline(TimelineArgs),
}

/// Output options of tabular commands.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output format (parquet needs -o)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct AttributeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Output format of tabular commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
    Parquet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TextFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct WhoArgs {
    /// Log files, directories, or case directories, then the id to explain (last argument):
    /// an eventID, an access key id, a session ARN or a principalId
    #[arg(required = true, num_args = 2.., value_name = "INPUT... ID")]
    pub args: Vec<String>,
    #[command(flatten)]
    pub opts: CommonOpts,
    /// Output format
    #[arg(long, value_enum, default_value_t = TextFormat::Table)]
    pub format: TextFormat,
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Log files, directories, or case directories, then the target (last argument): an
    /// origin string, an access key id, or an IAM user ARN
    #[arg(required = true, num_args = 2.., value_name = "INPUT... TARGET")]
    pub args: Vec<String>,
    #[command(flatten)]
    pub opts: CommonOpts,
    /// Only actions at or after T (2024-07-31 or 2024-07-31T19:52:33Z)
    #[arg(long, value_name = "T", value_parser = parse_when)]
    pub since: Option<i64>,
    /// Only actions at or before T
    #[arg(long, value_name = "T", value_parser = parse_when_end)]
    pub until: Option<i64>,
    /// Output format
    #[arg(long, value_enum, default_value_t = TextFormat::Table)]
    pub format: TextFormat,
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The reading options without INPUT (for commands whose INPUT is followed by an id).
#[derive(Args, Debug, Clone)]
pub struct CommonOpts {
    /// Worker threads (default: all cores). Output does not depend on it.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Largest decompressed size accepted per file or archive member (or 100 times its stored
    /// size, if larger: a gzip bomb decompresses far beyond that, logs 10–30 times)
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size)]
    pub max_decompressed: u64,
    /// Treat any input problem as fatal (exit 2)
    #[arg(long)]
    pub strict: bool,
    /// No progress line, and only a one-line count of problems on stderr
    #[arg(short, long)]
    pub quiet: bool,
    /// Rows per Parquet row group written by `ingest` (and per chunk while reading logs)
    #[arg(long, value_name = "N", default_value_t = trailgraph_log::ingest::ROW_GROUP, hide = true,
          value_parser = parse_rows)]
    pub row_group_rows: usize,
    /// Hold log files in memory only up to about this many MB (estimated from their size: about
    /// 12× a gzip file, 1.5× a plain one); larger input goes through a scratch case in TMPDIR
    /// and is streamed, in memory that grows with sessions, not events, as a case directory made
    /// by one `ingest` always is. Default: 2048 for `attribute`, 256 for the other commands, or
    /// half the available memory if less. Not used by `ingest`
    #[arg(long, value_name = "MB")]
    pub in_memory_limit: Option<u64>,
    /// Read s3:// INPUT (and write `ingest -o s3://`) with anonymous, unsigned requests, as
    /// `aws --no-sign-request` does (or set AWS_SKIP_SIGNATURE=true)
    #[arg(long)]
    pub no_sign_request: bool,
}

fn parse_rows(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{s:?} is not a positive number of rows")),
    }
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Session filters.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only sessions whose origin is exactly this canonical origin string
    #[arg(long, value_name = "ORIGIN")]
    pub origin: Option<String>,
    /// Only sessions of this role (ARN or role name)
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// Only sessions living in this account
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
    /// Only sessions at chain depth N or deeper
    #[arg(long, value_name = "N")]
    pub min_depth: Option<usize>,
    /// Only sessions whose caller is in another account
    #[arg(long)]
    pub cross_account: bool,
    /// Only sessions issued at or after T
    #[arg(long, value_name = "T", value_parser = parse_when)]
    pub since: Option<i64>,
    /// Only sessions issued at or before T
    #[arg(long, value_name = "T", value_parser = parse_when_end)]
    pub until: Option<i64>,
}

/// Options shared by every command that reads INPUT.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Log files, directories (recursive), or case directories made by `ingest`; any of them
    /// may be an S3 URL: s3://BUCKET/PREFIX (listed recursively, e.g. a trail's
    /// s3://BUCKET/AWSLogs/ACCOUNT/CloudTrail/REGION/2024/05/), s3://BUCKET/KEY.json.gz, or a
    /// case written with `ingest -o s3://…`. Credentials: AWS_ACCESS_KEY_ID/
    /// AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], web identity, ECS or EC2 instance roles (not
    /// ~/.aws profiles); AWS_ENDPOINT_URL for S3-compatible servers; see --no-sign-request
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: CommonOpts,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Columns: rule_id, rule_title, rule_author, level, tags, event_id, event_time, event_name,
event_source, recipient_account, aws_region, source_ip, session_id, origin, chain, depth,
confidence (--by origin: origin, hits, rules, highest_level, rule_titles, first_time,
last_time, accounts)

Without --rules, the rules shipped with trailgraph are used (rules/ in the source: the SigmaHQ
AWS CloudTrail rules, DRL 1.1, and trailgraph's own). Rules for other log sources are skipped
and counted; a rule file that cannot be parsed is reported and the others still run. Some
shipped rules are broad on purpose (the low-level \"AWS STS AssumeRole Misuse\" matches every
event of a role session); --min-level medium keeps the hits to what is worth a look.

Examples:
  trailgraph hunt case/
  trailgraph hunt ./AWSLogs --rules sigma/rules/cloud/aws/ --format csv -o hits.csv
  trailgraph hunt case/ --by origin
  trailgraph hunt case/ --min-level medium
  trailgraph hunt case/ --list-rules"
)]
pub struct HuntArgs {
    #[command(flatten)]
    pub input: HuntInput,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Sigma rule files or folders (searched recursively for .yml/.yaml); default: the shipped rules
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub rules: Vec<PathBuf>,
    /// Roll the hits up: one row per origin
    #[arg(long, value_enum, value_name = "WHAT")]
    pub by: Option<HuntBy>,
    /// Only rules of this level or above (rules without a level are skipped too)
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_level: Option<SigmaLevel>,
    /// List the rules that would be evaluated (and those skipped, with why) and exit
    #[arg(long)]
    pub list_rules: bool,
}

/// INPUT and the reading options, like `InputArgs`, but INPUT is optional with `--list-rules`.
#[derive(Args, Debug, Clone)]
pub struct HuntInput {
    /// Log files, directories (recursive), or case directories made by `ingest`
    #[arg(required_unless_present = "list_rules", value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: CommonOpts,
}

/// A Sigma rule level, least to most severe.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigmaLevel {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl SigmaLevel {
    fn name(self) -> &'static str {
        match self {
            SigmaLevel::Informational => "informational",
            SigmaLevel::Low => "low",
            SigmaLevel::Medium => "medium",
            SigmaLevel::High => "high",
            SigmaLevel::Critical => "critical",
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum HuntBy {
    /// One row per origin: rules hit, first/last time, accounts, count
    Origin,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Columns: role_arn, row (trusted | observed | finding), finding (broad_trust | unused_trust |
assumption_not_explained), principal, origin, assumptions, first_time, last_time, verdicts,
detail, policy_source, role_last_used, event_id, matched_principal (observed: the trusted
principal that decided the calls), condition_keys (trusted: the statement's condition keys)

--iam reads `aws iam get-account-authorization-details` output (policy documents as JSON objects
or URL-encoded strings), `get-role` and `list-roles` outputs, and Organizations `list-accounts` /
`describe-organization` output (for aws:PrincipalOrgID); a directory is read for its *.json
files. Trust policies also come from CreateRole and UpdateAssumeRolePolicy events in INPUT. A
file that cannot be read is a problem (exit 1), the others are still used. See docs/trust.md.

Examples:
  trailgraph trust case/ --iam gaad-111111111111.json gaad-222222222222.json
  trailgraph trust ./AWSLogs --iam iam/ --iam org-accounts.json --format csv -o trust.csv
  trailgraph trust case/ --iam iam/ --role 'deploy-*' --format json"
)]
pub struct TrustArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// IAM configuration files or directories (several after one flag; the flag may be
    /// repeated); default: those `ingest --iam` kept in the case
    #[arg(long, value_name = "PATH", num_args = 1.., action = clap::ArgAction::Append)]
    pub iam: Vec<PathBuf>,
    /// Only roles whose name matches this glob (or whose ARN does, for a pattern starting arn:)
    #[arg(long, value_name = "PATTERN")]
    pub role: Option<String>,
}

#[derive(Args, Debug)]
#[command(
    after_help = "For every observed assumption of the roles matching --role: would it still be allowed,
denied (by which condition) or unknown (which key or side is missing) if every Allow statement
of the trust policy in force at its time also had the new conditions? Failed assumptions are
listed, not judged. Per role: a summary, and the latest policy hardened, ready to apply.

--require-mfa adds Bool aws:MultiFactorAuthPresent true (a long-term key without MFA is denied);
--require-mfa=if-exists adds BoolIfExists instead; where the two differ the other is shown.
--principals is matched against the direct caller (aws:PrincipalArn: a role ARN matches every
session of the role). --hours cannot be expressed in a trust policy (aws:CurrentTime compares
absolute dates only): it is evaluated, and left out of the hardened policy.

Columns (--format csv|json|ndjson|parquet): role_arn, event_id, event_time, origin, caller_arn,
caller_principal, source_ip, verdict (allow | deny | unknown), reason, other_reading, current,
detail, policy_source, error_code. See docs/trust.md.

Examples:
  trailgraph whatif case/ --iam iam/ --role deploy --require-mfa
  trailgraph whatif case/ --iam gaad.json --role 'ci-*' --source-ip 198.51.100.0/24,203.0.113.0/24
  trailgraph whatif ./AWSLogs --iam iam/ --role 'arn:aws:iam::111111111111:role/*' --principal-org-id o-abc123 --format csv -o whatif.csv
  trailgraph whatif case/ --iam iam/ --role admin --hours 'Mon-Fri 08:00-18:00' --timezone Europe/Berlin"
)]
pub struct WhatifArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// IAM configuration files or directories (several after one flag; the flag may be
    /// repeated); default: those `ingest --iam` kept in the case
    #[arg(long, value_name = "PATH", num_args = 1.., action = clap::ArgAction::Append)]
    pub iam: Vec<PathBuf>,
    /// The roles: a glob on the role name (or on the ARN, for a pattern starting arn:)
    #[arg(long, value_name = "PATTERN")]
    pub role: String,
    /// Require MFA: Bool aws:MultiFactorAuthPresent true (=if-exists: BoolIfExists)
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "bool", value_name = "READING")]
    pub require_mfa: Option<MfaReading>,
    /// Require the caller's address in these ranges (IpAddress aws:SourceIp)
    #[arg(long, value_name = "CIDR", value_delimiter = ',', num_args = 1.., value_parser = cidr)]
    pub source_ip: Vec<Cidr>,
    /// Require this external id (StringEquals sts:ExternalId)
    #[arg(long, value_name = "VALUE")]
    pub external_id: Option<String>,
    /// Require the caller's organisation (StringEquals aws:PrincipalOrgID)
    #[arg(long, value_name = "o-…", value_parser = org_id)]
    pub principal_org_id: Option<String>,
    /// Only these direct callers (ArnLike aws:PrincipalArn; user or role ARNs, wildcards allowed)
    #[arg(long, value_name = "ARN", value_delimiter = ',', num_args = 1.., value_parser = principal_arn)]
    pub principals: Vec<String>,
    /// Only inside this weekly window, e.g. "Mon-Fri 08:00-18:00" (evaluated; no IAM form)
    #[arg(long, value_name = "WINDOW", value_parser = |s: &str| Window::parse(s))]
    pub hours: Option<Window>,
    /// The time zone of --hours: an IANA name (Europe/Berlin) or an offset (+02:00); default UTC
    #[arg(long, value_name = "ZONE", requires = "hours", value_parser = |s: &str| Zone::parse(s))]
    pub timezone: Option<Zone>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaReading {
    /// Bool aws:MultiFactorAuthPresent true
    Bool,
    /// BoolIfExists aws:MultiFactorAuthPresent true
    IfExists,
}

fn cidr(s: &str) -> Result<Cidr, String> {
    Cidr::parse(s).ok_or_else(|| {
        format!("{s:?} is not an address or CIDR range (203.0.113.0/24, 2001:db8::/32)")
    })
}

fn org_id(s: &str) -> Result<String, String> {
    if s.starts_with("o-") && s.len() > 2 {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not an organisation id (o-…)"))
    }
}

fn principal_arn(s: &str) -> Result<String, String> {
    let s = s.trim();
    if !s.starts_with("arn:") {
        return Err(format!("{s:?} is not an ARN (arn:aws:iam::111111111111:user/alice, arn:aws:iam::111111111111:role/deploy)"));
    }
    if s.contains(":assumed-role/") {
        return Err(format!("{s:?} is a session: aws:PrincipalArn of a session is its role's ARN (arn:aws:iam::ACCOUNT:role/NAME)"));
    }
    Ok(s.to_string())
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Case directory to create or add to, or s3://BUCKET/PREFIX (the run written locally,
    /// then uploaded: its files, then its manifest)
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
    /// IAM configuration files or directories to keep in the case (get-account-authorization-
    /// details, get-role, list-roles, Organizations); trust, whatif and report use them
    #[arg(long, value_name = "PATH", num_args = 1.., action = clap::ArgAction::Append)]
    pub iam: Vec<PathBuf>,
    /// The partition directories of the events files, outermost first: any of account
    /// (recipient_account), region (aws_region) and date (UTC date of event_time), or `none`
    /// (one events file per run)
    #[arg(long, value_name = "KEYS", default_value = "account,region,date", value_parser = parse_partition)]
    pub partition: PartitionArg,
}

/// The value of `ingest --partition`.
#[derive(Clone, Debug)]
pub struct PartitionArg(pub Vec<trailgraph_store::PartitionKey>);

fn parse_partition(s: &str) -> Result<PartitionArg, String> {
    trailgraph_store::PartitionKey::parse_list(s)
        .map(PartitionArg)
        .map_err(|e| e.to_string())
}

#[derive(Args, Debug)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Directory to write the map into (created; its identities.parquet, events.parquet and
    /// resolve.json are replaced)
    #[arg(short = 'o', long = "output", value_name = "MAP")]
    pub output: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Parses sizes like `4GiB`, `512MB`, `1000000`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("not a size: {s:?} (try 512MiB or 4GiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => return Err(format!("unknown size unit in {s:?} (use B, KiB, MiB, GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size too large: {s:?}"))
}

/// INPUT and the reading options, like `InputArgs`, but INPUT is optional with
/// `--print-config`.
#[derive(Args, Debug, Clone)]
pub struct AnomaliesInput {
    /// Log files, directories (recursive), or case directories made by `ingest`
    #[arg(required_unless_present = "print_config", value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: CommonOpts,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Columns: kind, severity, subject, origin, first_event_id, time, event_ids, explanation

Kinds: role_chain_depth, role_cycle, workload_credential_exfiltration, session_multi_ip,
assume_role_enumeration, first_time_assumption, no_mfa_sensitive, off_hours,
external_account_assumption, getsessiontoken_then_assume, federation_token_persistence,
api_enumeration_burst, long_term_key_new_network, console_login_without_mfa,
persistence_credential_created
(semantics, keys and defaults: docs/anomalies.md)

Examples:
  trailgraph anomalies case/
  trailgraph anomalies ./AWSLogs --config anomalies.toml --format csv -o findings.csv
  trailgraph anomalies case/ --baseline-until 2024-07-01 --format ndjson
  trailgraph anomalies --print-config > anomalies.toml"
)]
pub struct AnomaliesArgs {
    #[command(flatten)]
    pub input: AnomaliesInput,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Detector configuration (TOML); see --print-config
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the default configuration (commented TOML) and exit
    #[arg(long)]
    pub print_config: bool,
    /// End of the learning period (default: 70% into the input's time span)
    #[arg(long, value_name = "T", value_parser = parse_when)]
    pub baseline_until: Option<i64>,
}

const GRAPH_HELP: &str = "\
Nodes: origins (who started a chain) and sessions (one per issued temporary key), with
attributes id, kind, role, account, issued_at, key, confidence, depth, cross_account, cycle,
orphan, matched. Edges: issued (parent session or origin → session), with the issuance
eventIDs and the link confidence. With filters, the matching sessions are exported together
with their ancestors (matched=false), so every chain stays connected to its origin.

Formats:
  dot       Graphviz digraph (render: dot -Tsvg graph.dot -o graph.svg)
  graphml   GraphML 1.0 with a <key> for every attribute (Gephi, yEd, Cytoscape, networkx)
  json      {\"directed\":true,\"nodes\":[{\"id\",\"type\",…}],\"links\":[{\"source\",\"target\",…}]}
            (d3-force / networkx node_link_graph)
  neo4j     a directory (-o DIR, required) of CSV files in the neo4j-admin import format:
              nodes_origins.csv   :LABEL Origin; id:ID(Node), origin, kind, account,
                                  sessions:long, label
              nodes_sessions.csv  :LABEL Session; id:ID(Node), session_id, kind, role_arn, …,
                                  issued_at:datetime, depth:int, cross_account:boolean, …
              nodes_roles.csv     :LABEL Role; id:ID(Node), arn, name, account, sessions:long
              rels_issued.csv     :TYPE ISSUED; :START_ID(Node), :END_ID(Node), kind,
                                  confidence, event_ids:string[], cross_account:boolean
              rels_of_role.csv    :TYPE OF_ROLE; :START_ID(Node) (session), :END_ID(Node) (role)
            All nodes share the ID space Node (ids origin:…, session:…, role:…). Import into an
            empty database (Neo4j 5; stop the database first), from inside DIR:
              neo4j-admin database import full \\
                --nodes=nodes_origins.csv --nodes=nodes_sessions.csv --nodes=nodes_roles.csv \\
                --relationships=rels_issued.csv --relationships=rels_of_role.csv \\
                --multiline-fields=true --overwrite-destination neo4j
            then e.g. MATCH p=(o:Origin)-[:ISSUED*]->(s:Session) WHERE s.depth >= 3 RETURN p

Examples:
  trailgraph graph case/ --format dot -o graph.dot && dot -Tsvg graph.dot -o graph.svg
  trailgraph graph case/ --format graphml -o graph.graphml --min-depth 2
  trailgraph graph case/ --format json --cross-account
  trailgraph graph case/ --format neo4j -o neo4j-import/";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Graphml,
    Json,
    Neo4j,
}

#[derive(Args, Debug)]
#[command(after_help = GRAPH_HELP)]
pub struct GraphArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Output file (for neo4j: a directory, required); default standard output
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,
}

const TIMELINE_HELP: &str = "\
Fields: message, datetime, timestamp_desc, timestamp (µs), data_type, event_id, event_name,
event_source, event_type, aws_region, recipient_account, source_ip, user_agent, error_code,
error_message, read_only, identity_type, identity_arn, access_key_id, origin, chain, depth,
confidence, session_id, source_identity, source_file, record_index

Examples:
  trailgraph timeline case/ -o case.jsonl          then import case.jsonl into Timesketch
  trailgraph timeline ./AWSLogs --format csv -o timeline.csv";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    /// One JSON object per line (Timesketch JSONL)
    #[value(alias = "ndjson")]
    Jsonl,
    /// CSV with a header line (formula injection neutralised)
    Csv,
}

#[derive(Args, Debug)]
#[command(after_help = TIMELINE_HELP)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = TimelineFormat::Jsonl)]
    pub format: TimelineFormat,
    /// Output file (default: standard output)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

const REPORT_HELP: &str = "\
Writes into DIR (created if needed):
  report.html            self-contained page: input and its gaps, the role chains as a picture,
                         anomalies with evidence, Sigma hits per origin, per-origin activity,
                         timeline
  report.md              the same content as Markdown
  summary.json           input accounting, time range, coverage, totals
  sessions.csv/.json     chains.csv/.json     anomalies.csv/.json
  hunt.csv/.json         hunt_origins.csv/.json (the Sigma rules' hits; not with --no-rules)
  trust.csv/.json        configured trust beside observed assumptions (with --iam)
  origins.csv/.json      timeline.csv/.json   coverage.csv/.json

The Sigma rules are the shipped ones (as `trailgraph hunt`) unless --rules or --no-rules;
--min-level keeps only rules of that level or above.

The HTML loads nothing from the network (inline CSS and SVG, and a Content-Security-Policy
that forbids fetches), and every string taken from the logs is escaped. The output does not
depend on the time it was made: two runs over the same input are byte-identical.

Examples:
  trailgraph report ./AWSLogs -o report/
  trailgraph report case/ -o report/ && xdg-open report/report.html
  trailgraph report case/ -o report/ --rules my-rules/ sigma/rules/cloud/aws/
  trailgraph report case/ -o report/ --iam gaad-*.json org-accounts.json";

#[derive(Args, Debug)]
#[command(after_help = REPORT_HELP)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Directory to write report.html, report.md and the tables into
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
    /// Sigma rule files or folders for the Hunt section; default: the shipped rules
    #[arg(long, value_name = "PATH", num_args = 1.., conflicts_with = "no_rules")]
    pub rules: Vec<PathBuf>,
    /// No Sigma rules (no Hunt section, no hunt tables)
    #[arg(long)]
    pub no_rules: bool,
    /// Only Sigma rules of this level or above (as `hunt --min-level`)
    #[arg(long, value_enum, value_name = "LEVEL", conflicts_with = "no_rules")]
    pub min_level: Option<SigmaLevel>,
    /// IAM configuration for the Trust section (get-account-authorization-details, get-role,
    /// list-roles, Organizations files or folders of them; see `trailgraph trust --help`);
    /// default: those `ingest --iam` kept in the case
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub iam: Vec<PathBuf>,
}

const QUERY_HELP: &str = "\
Tables: events, issuances, sessions, attribution, anomalies (columns: docs/queries.md).
Shipped queries (queries/*.sql, built in): trailgraph query --list

Examples:
  trailgraph query case/ --sql \"SELECT origin, COUNT(*) AS n FROM attribution GROUP BY origin ORDER BY n DESC, origin\"
  trailgraph query case/ --file cross_account_assumptions
  trailgraph query ./AWSLogs --file queries/mutating_calls_by_origin.sql --format csv -o out.csv
  trailgraph query case/ --file my.sql --format parquet -o out.parquet";

#[derive(Args, Debug)]
#[command(after_help = QUERY_HELP)]
pub struct QueryArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// SQL to run over the tables events, issuances, sessions, attribution, anomalies
    #[arg(
        long,
        value_name = "SQL",
        conflicts_with = "file",
        allow_hyphen_values = true
    )]
    pub sql: Option<String>,
    /// Run a query file (e.g. queries/cross_account_assumptions.sql), or a shipped query by
    /// name (e.g. cross_account_assumptions; see --list)
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// List the shipped queries (name, title, description) and exit
    #[arg(long, exclusive = true)]
    pub list: bool,
}

/// Parses the process arguments (clap exits with its usage message when they are wrong) into
/// the command to run.
pub fn parse() -> Run {
    Cli::parse().command.into()
}

impl From<Command> for Run {
    fn from(c: Command) -> Run {
        match c {
            Command::Ingest(a) => Run::Ingest(cmd::ingest::Settings {
                input: a.input.into(),
                output: a.output,
                iam: a.iam,
                partition: a.partition.0,
            }),
            Command::Summary(a) => Run::Summary(cmd::summary::Settings {
                input: a.input.into(),
                json: a.format == SummaryFormat::Json,
                output: a.output,
            }),
            Command::Attribute(a) => Run::Attribute(cmd::attribute::Settings {
                input: a.input.into(),
                out: a.out.into(),
            }),
            Command::Resolve(a) => Run::Resolve(cmd::resolve::Settings {
                input: a.input.into(),
                output: a.output,
            }),
            Command::Who(a) => {
                let (input, id) = a.opts.split_id(a.args);
                Run::Who(cmd::who::Settings {
                    input,
                    id,
                    json: a.format == TextFormat::Json,
                    output: a.output,
                })
            }
            Command::Trace(a) => {
                let (input, target) = a.opts.split_id(a.args);
                Run::Trace(cmd::trace::Settings {
                    input,
                    target,
                    since: a.since,
                    until: a.until,
                    json: a.format == TextFormat::Json,
                    output: a.output,
                })
            }
            Command::Sessions(a) => Run::List(a.settings(false)),
            Command::Chains(a) => Run::List(a.settings(true)),
            Command::Anomalies(a) => Run::Anomalies(cmd::anomalies::Settings {
                input: a.input.opts.input(a.input.inputs),
                out: a.out.into(),
                config: a.config,
                print_config: a.print_config,
                baseline_until: a.baseline_until,
            }),
            Command::Hunt(a) => Run::Hunt(cmd::hunt::Settings {
                input: a.input.opts.input(a.input.inputs),
                out: a.out.into(),
                rules: a.rules,
                by_origin: a.by == Some(HuntBy::Origin),
                list_rules: a.list_rules,
                min_level: a.min_level.map(SigmaLevel::name),
            }),
            Command::Trust(a) => Run::Trust(cmd::trust::Settings {
                input: a.input.into(),
                out: a.out.into(),
                iam: a.iam,
                role: a.role,
            }),
            Command::Whatif(a) => Run::Whatif(cmd::whatif::Settings {
                input: a.input.into(),
                out: a.out.into(),
                iam: a.iam,
                role: a.role,
                hardening: Hardening {
                    mfa: a.require_mfa.map(|m| match m {
                        MfaReading::Bool => Mfa::Bool,
                        MfaReading::IfExists => Mfa::IfExists,
                    }),
                    source_ip: a.source_ip,
                    external_id: a.external_id,
                    principal_org_id: a.principal_org_id,
                    principals: a.principals,
                    hours: a.hours.map(|window| Hours {
                        window,
                        zone: a.timezone.unwrap_or(Zone::Fixed(TimeZone::default())),
                    }),
                },
            }),
            Command::Report(a) => Run::Report(cmd::report::Settings {
                input: a.input.into(),
                output: a.output,
                rules: a.rules,
                no_rules: a.no_rules,
                min_level: a.min_level.map(SigmaLevel::name),
                iam: a.iam,
            }),
            Command::Query(a) => Run::Query(cmd::query::Settings {
                input: a.input.into(),
                out: a.out.into(),
                sql: a.sql,
                file: a.file,
                list: a.list,
            }),
            Command::Graph(a) => Run::Graph(cmd::graph::Settings {
                input: a.input.into(),
                filter: a.filter.into(),
                format: match a.format {
                    GraphFormat::Dot => Graph::Dot,
                    GraphFormat::Graphml => Graph::Graphml,
                    GraphFormat::Json => Graph::Json,
                    GraphFormat::Neo4j => Graph::Neo4j,
                },
                output: a.output,
            }),
            Command::Timeline(a) => Run::Timeline(cmd::timeline::Settings {
                input: a.input.into(),
                format: match a.format {
                    TimelineFormat::Jsonl => Timeline::Jsonl,
                    TimelineFormat::Csv => Timeline::Csv,
                },
                output: a.output,
            }),
        }
    }
}

impl CommonOpts {
    fn input(self, inputs: Vec<PathBuf>) -> cmd::Input {
        cmd::Input {
            inputs,
            threads: self.threads,
            max_decompressed: self.max_decompressed,
            strict: self.strict,
            quiet: self.quiet,
            row_group_rows: self.row_group_rows,
            in_memory_limit: self.in_memory_limit,
            no_sign_request: self.no_sign_request,
        }
    }

    /// INPUT... ID: the last argument is the id (clap requires two at least).
    fn split_id(self, mut args: Vec<String>) -> (cmd::Input, String) {
        let id = args.pop().expect("clap requires two arguments");
        (
            self.input(args.into_iter().map(PathBuf::from).collect()),
            id,
        )
    }
}

impl From<InputArgs> for cmd::Input {
    fn from(a: InputArgs) -> cmd::Input {
        a.opts.input(a.inputs)
    }
}

impl From<OutputArgs> for cmd::Output {
    fn from(a: OutputArgs) -> cmd::Output {
        cmd::Output {
            format: match a.format {
                Format::Table => Table::Table,
                Format::Json => Table::Json,
                Format::Ndjson => Table::Ndjson,
                Format::Csv => Table::Csv,
                Format::Parquet => Table::Parquet,
            },
            path: a.output,
        }
    }
}

impl From<FilterArgs> for SessionFilter {
    fn from(a: FilterArgs) -> SessionFilter {
        SessionFilter {
            origin: a.origin,
            role: a.role,
            account: a.account,
            min_depth: a.min_depth,
            cross_account: a.cross_account,
            since: a.since,
            until: a.until,
        }
    }
}

impl ListArgs {
    fn settings(self, chains: bool) -> cmd::list::Settings {
        cmd::list::Settings {
            input: self.input.into(),
            out: self.out.into(),
            filter: self.filter.into(),
            chains,
        }
    }
}
