//! Loading Sigma rules: files and folders (recursive, `*.yml` / `*.yaml`, in path order), or
//! the rules shipped with trailgraph (`rules/` of the source, embedded in the binary). Rules
//! whose logsource is not AWS CloudTrail are skipped with the reason; a file or rule that
//! cannot be read, parsed or compiled is a problem (file, reason) and never stops the others.

use super::record;
use anyhow::{bail, Result};
use rsigma_eval::fields::RuleFieldSet;
use rsigma_eval::Engine;
use rsigma_parser::{parse_sigma_yaml, SigmaCollection, SigmaRule};
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};

/// The rules embedded in the binary: (path under the source tree, text), in path order.
pub const SHIPPED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/shipped_rules.rs"));

/// One rule that is evaluated.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    /// The rule's `id`, or `FILE#N` (its position in the file) when it has none.
    pub id: String,
    pub title: String,
    /// `informational`, `low`, `medium`, `high`, `critical`, or empty.
    pub level: &'static str,
    pub tags: Vec<String>,
    /// The rule's `author` field (the DRL asks that matches name it).
    pub author: String,
    /// The file it came from.
    pub file: String,
}

/// A rule or file that is not evaluated, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleNote {
    pub file: String,
    /// The rule's title, when the file was parsed that far.
    pub rule: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for RuleNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule {
            Some(r) => write!(f, "{}: rule \"{}\": {}", self.file, r, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// The compiled rules.
pub struct RuleSet {
    /// The rules by how often the values of the fields they name repeat (`record::Varies`,
    /// in its order): the first two groups are memoised, each with its own tree (see `memo`),
    /// the last is evaluated on every event.
    pub(crate) groups: [Engine; 3],
    /// The fields the rules (and filters) can ask for: what of the record must be read.
    pub(crate) needs: Needs,
    /// The evaluated rules, in load order.
    pub rules: Vec<RuleInfo>,
    pub(crate) by_id: FxHashMap<String, usize>,
    /// Rules for other log sources (and correlation rules), not evaluated.
    pub skipped: Vec<RuleNote>,
    /// Files or rules that could not be read, parsed or compiled.
    pub problems: Vec<RuleNote>,
    /// Rules that name fields trailgraph does not keep (they are absent when evaluated).
    pub warnings: Vec<RuleNote>,
    /// The lowest level evaluated (its rank in `LEVELS`, and its name), if any.
    min_level: Option<(usize, String)>,
    /// Rules skipped for a level below `min_level` (they are in `skipped` too).
    below_min_level: usize,
}

/// Where the rules come from.
pub enum Rules<'a> {
    /// The rules shipped with trailgraph.
    Shipped,
    /// Files or folders given by the user.
    Paths(&'a [PathBuf]),
}

impl RuleSet {
    /// Loads and compiles the rules. Fails only when a path does not exist or no rule for
    /// CloudTrail is left to evaluate.
    pub fn load(from: Rules<'_>) -> Result<RuleSet> {
        RuleSet::load_with(from, None)
    }

    /// `load`, keeping only the rules of `min_level` (a name in `LEVELS`) or above: the others
    /// (and rules without a level) are skipped, with the reason.
    pub fn load_with(from: Rules<'_>, min_level: Option<&str>) -> Result<RuleSet> {
        let min = match min_level {
            None => None,
            Some(l) => match super::level_rank(l) {
                0 => bail!("--min-level {l}: one of informational, low, medium, high, critical"),
                r => Some((r, l.to_string())),
            },
        };
        let mut set = RuleSet {
            min_level: min,
            below_min_level: 0,
            groups: [Engine::new(), Engine::new(), Engine::new()],
            needs: Needs::default(),
            rules: Vec::new(),
            by_id: FxHashMap::default(),
            skipped: Vec::new(),
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        let mut filters = Vec::new();
        match from {
            Rules::Shipped => {
                for (file, text) in SHIPPED {
                    set.add_text(file, text, &mut filters);
                }
            }
            Rules::Paths(paths) => {
                let mut files = Vec::new();
                for p in paths {
                    if !p.exists() {
                        bail!("{}: no such rule file or folder", p.display());
                    }
                    rule_files(p, &mut files, &mut set.problems);
                }
                files.sort();
                files.dedup();
                for f in files {
                    let name = f.display().to_string();
                    match std::fs::read_to_string(&f) {
                        Ok(text) => set.add_text(&name, &text, &mut filters),
                        Err(e) => set.problems.push(RuleNote {
                            file: name,
                            rule: None,
                            reason: format!("cannot read: {e}"),
                        }),
                    }
                }
            }
        }
        for (file, filter) in filters {
            for d in filter.detection.named.values() {
                set.needs.add(d);
            }
            // A filter names the rules it applies to, in any group (compiling it fails alike in
            // each).
            let applied: Vec<Result<()>> = set
                .groups
                .iter_mut()
                .map(|g| Ok(g.apply_filter(&filter)?))
                .collect();
            if let Some(Err(e)) = applied.into_iter().find(|r| r.is_err()) {
                set.problems.push(RuleNote {
                    file,
                    rule: Some(filter.title.clone()),
                    reason: format!("filter not applied: {e}"),
                });
            }
        }
        if set.rules.is_empty() {
            let below = match &set.min_level {
                Some((_, name)) => format!(", {} below --min-level {name}", set.below_min_level),
                None => String::new(),
            };
            bail!(
                "no Sigma rule for AWS CloudTrail to evaluate ({} skipped{below}, {} with problems; --list-rules says why)",
                set.skipped.len(),
                set.problems.len()
            );
        }
        Ok(set)
    }

    fn add_text(
        &mut self,
        file: &str,
        text: &str,
        filters: &mut Vec<(String, rsigma_parser::FilterRule)>,
    ) {
        let collection = match parse_sigma_yaml(text) {
            Ok(c) => c,
            Err(e) => {
                self.problems.push(RuleNote {
                    file: file.to_string(),
                    rule: None,
                    reason: format!("not a Sigma rule file: {}", one_line(&e.to_string())),
                });
                return;
            }
        };
        for e in &collection.errors {
            self.problems.push(RuleNote {
                file: file.to_string(),
                rule: None,
                reason: format!("not a Sigma rule: {}", one_line(e)),
            });
        }
        for c in &collection.correlations {
            self.skipped.push(RuleNote {
                file: file.to_string(),
                rule: Some(c.title.clone()),
                reason: "correlation rules are not evaluated by hunt".into(),
            });
        }
        for f in &collection.filters {
            filters.push((file.to_string(), f.clone()));
        }
        for (n, rule) in collection.rules.iter().enumerate() {
            self.add_rule(file, n, rule);
        }
    }

    fn add_rule(&mut self, file: &str, n: usize, rule: &SigmaRule) {
        let note = |reason: String| RuleNote {
            file: file.to_string(),
            rule: Some(rule.title.clone()),
            reason,
        };
        if let Some(why) = not_cloudtrail(rule) {
            self.skipped.push(note(why));
            return;
        }
        if let Some((min, name)) = &self.min_level {
            let level = rule.level.as_ref().map(|l| l.as_str()).unwrap_or("");
            if super::level_rank(level) < *min {
                let level = if level.is_empty() { "none" } else { level };
                self.skipped
                    .push(note(format!("level {level} is below --min-level {name}")));
                self.below_min_level += 1;
                return;
            }
        }
        let mut rule = rule.clone();
        let id = match &rule.id {
            Some(id) => id.clone(),
            None => format!("{file}#{}", n + 1),
        };
        if let Some(&other) = self.by_id.get(&id) {
            let why = format!(
                "duplicate id {id} (also in {}): skipped",
                self.rules[other].file
            );
            self.problems.push(note(why));
            return;
        }
        rule.id = Some(id.clone());
        let mut one = SigmaCollection::new();
        one.rules.push(rule.clone());
        let fields = RuleFieldSet::collect(&one, &[], false);
        for d in rule.detection.named.values() {
            self.needs.add(d);
        }
        let varies = fields
            .names()
            .map(record::varies)
            .max()
            .unwrap_or(record::Varies::Few);
        if let Err(e) = self.groups[varies as usize].add_rule(&rule) {
            self.problems.push(note(format!(
                "cannot be evaluated: {}",
                one_line(&e.to_string())
            )));
            return;
        }
        let unkept: Vec<String> = fields
            .names()
            .filter(|f| !record::is_kept(f))
            .map(String::from)
            .collect();
        if !unkept.is_empty() {
            self.warnings.push(note(format!(
                "names fields trailgraph does not keep (always absent): {}",
                unkept.join(", ")
            )));
        }
        self.by_id.insert(id.clone(), self.rules.len());
        self.rules.push(RuleInfo {
            id,
            title: rule.title.clone(),
            level: rule.level.as_ref().map(|l| l.as_str()).unwrap_or(""),
            tags: rule.tags.clone(),
            author: rule.author.clone().unwrap_or_default(),
            file: file.to_string(),
        });
    }
}

/// Why a rule is not for CloudTrail records (None: it is).
fn not_cloudtrail(rule: &SigmaRule) -> Option<String> {
    let ls = &rule.logsource;
    let is =
        |v: &Option<String>, want: &str| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(want));
    if is(&ls.product, "aws")
        && (ls.service.is_none() || is(&ls.service, "cloudtrail"))
        && ls.category.is_none()
    {
        return None;
    }
    let mut parts = Vec::new();
    for (k, v) in [
        ("product", &ls.product),
        ("service", &ls.service),
        ("category", &ls.category),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}: {v}"));
        }
    }
    let shown = if parts.is_empty() {
        "no logsource".to_string()
    } else {
        format!("logsource {}", parts.join(", "))
    };
    Some(format!(
        "{shown} (hunt evaluates rules for product: aws, service: cloudtrail)"
    ))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The rule files under `p` (itself when a file), recursively, by extension.
fn rule_files(p: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<RuleNote>) {
    if p.is_file() {
        out.push(p.to_path_buf());
        return;
    }
    let rd = match std::fs::read_dir(p) {
        Ok(rd) => rd,
        Err(e) => {
            problems.push(RuleNote {
                file: p.display().to_string(),
                rule: None,
                reason: format!("cannot list: {e}"),
            });
            return;
        }
    };
    for e in rd.flatten() {
        let q = e.path();
        if q.is_dir() {
            rule_files(&q, out, problems);
        } else if matches!(
            q.extension().and_then(|e| e.to_str()),
            Some("yml") | Some("yaml")
        ) {
            out.push(q);
        }
    }
}

/// What of a record the rules can ask for: the whole record (keyword detections look at every
/// value), or the field paths they name, those their `|fieldref` values name, and the arrays
/// their `field[any]` blocks open (members are read through the array's column).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Needs {
    Whole,
    Paths(std::collections::BTreeSet<String>),
}

impl Default for Needs {
    fn default() -> Self {
        Needs::Paths(Default::default())
    }
}

impl Needs {
    fn add(&mut self, d: &rsigma_parser::Detection) {
        self.add_in(d, false)
    }

    /// `in_array`: `d` is the body of a `field[any]` block (its fields are the members').
    fn add_in(&mut self, d: &rsigma_parser::Detection, in_array: bool) {
        use rsigma_parser::{Detection, Modifier, SigmaValue};
        let Needs::Paths(paths) = self else {
            return;
        };
        match d {
            Detection::AllOf(items) => {
                for item in items {
                    match &item.field.name {
                        // (Relative to the member: harmless as a path of the record.)
                        Some(name) => {
                            paths.insert(name.clone());
                        }
                        // The member itself.
                        None if in_array => {}
                        // A value without a field matches any value of the record.
                        None => {
                            *self = Needs::Whole;
                            return;
                        }
                    }
                    if item.field.has_modifier(Modifier::FieldRef) {
                        for v in &item.values {
                            if let SigmaValue::String(s) = v {
                                paths.insert(s.as_plain().unwrap_or_else(|| s.original.clone()));
                            }
                        }
                    }
                }
            }
            Detection::AnyOf(subs) | Detection::And(subs) => {
                for sub in subs {
                    self.add_in(sub, in_array);
                }
            }
            Detection::Keywords(_) => *self = Needs::Whole,
            // The members' fields are relative to the array: its column holds them.
            Detection::ArrayMatch { field, body, .. } => {
                paths.insert(field.clone());
                self.add_in(body, true);
            }
            Detection::Conditional { named, .. } => {
                for sub in named.values() {
                    self.add_in(sub, in_array);
                }
            }
        }
    }
}
