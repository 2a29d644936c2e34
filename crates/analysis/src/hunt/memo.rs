//! A memo of rule evaluations: events that answer the engine's field lookups alike get the same
//! verdict, so each distinct answer is evaluated once.
//!
//! rsigma's engine reads an event only through `Event::get_field` (and, for keyword rules,
//! through its string values). Its evaluation is deterministic: the k-th field it asks for
//! depends only on the answers to the ones before, and the verdict only on all the answers. So
//! the evaluations met so far form a decision tree: a node asks one field; each distinct answer
//! leads to the next field asked, or to the verdict (the rules that matched). An event walks the
//! tree asking its own fields; when it reaches a verdict, that is the engine's verdict for it
//! (the engine would have asked the same fields, got the same answers, and answered the same).
//! When it falls off the tree, the engine evaluates it, its questions and answers are recorded,
//! and the tree grows by that path.
//!
//! On CloudTrail this is what makes rules cheap: most events are asked the same few fields
//! (`eventSource`, `eventName`, `userIdentity.type`, `userAgent`, …) whose values repeat, so the
//! tree holds a few thousand paths per million events, and a walk costs a few column reads where
//! an evaluation cost several lookups per candidate rule and allocations per match.
//!
//! What is never memoised: an evaluation that read the event's string values as a whole
//! (keyword rules), or its JSON, or a field whose answer is an array or an object (rare: the
//! payload objects are compared as text). Such events are evaluated, not recorded. Answers are
//! compared exactly (a 64-bit hash finds the branch; the value stored on it is compared too).
//! The tree has a size cap and starts over when it reaches it: memory stays bounded.

use super::record::{self, Record};
use super::RuleSet;
use rsigma_eval::event::{Event, EventValue};
use rustc_hash::{FxHashMap, FxHasher};
use serde_json::Value;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

/// Nodes a tree may hold before it starts over.
const MAX_NODES: usize = 1 << 18;

/// One answer to a field lookup, as stored on the tree (a value the engine compares).
#[derive(Clone, Debug, PartialEq)]
enum Answer {
    Absent,
    Null,
    Str(Box<str>),
    Int(i64),
    /// The bits of the float (compared exactly).
    Float(u64),
    Bool(bool),
}

/// An answer as read from the event (borrowed), before it is stored.
#[derive(Clone, Copy)]
enum Seen<'v> {
    Absent,
    Null,
    Str(&'v str),
    Int(i64),
    Float(u64),
    Bool(bool),
}

impl<'v> Seen<'v> {
    /// The answer `v` is, or None for what is not memoised (arrays, objects).
    fn of(v: &'v Option<EventValue<'_>>) -> Option<Seen<'v>> {
        Some(match v {
            None => Seen::Absent,
            Some(EventValue::Null) => Seen::Null,
            Some(EventValue::Str(s)) => Seen::Str(s),
            Some(EventValue::Int(i)) => Seen::Int(*i),
            Some(EventValue::Float(f)) => Seen::Float(f.to_bits()),
            Some(EventValue::Bool(b)) => Seen::Bool(*b),
            Some(EventValue::Array(_) | EventValue::Map(_)) => return None,
        })
    }

    fn hash(self) -> u64 {
        let mut h = FxHasher::default();
        match self {
            Seen::Absent => 0u8.hash(&mut h),
            Seen::Null => 1u8.hash(&mut h),
            Seen::Str(s) => {
                2u8.hash(&mut h);
                s.hash(&mut h);
            }
            Seen::Int(i) => {
                3u8.hash(&mut h);
                i.hash(&mut h);
            }
            Seen::Float(f) => {
                4u8.hash(&mut h);
                f.hash(&mut h);
            }
            Seen::Bool(b) => {
                5u8.hash(&mut h);
                b.hash(&mut h);
            }
        }
        h.finish()
    }

    fn is(self, a: &Answer) -> bool {
        match (self, a) {
            (Seen::Absent, Answer::Absent) | (Seen::Null, Answer::Null) => true,
            (Seen::Str(s), Answer::Str(t)) => s == &**t,
            (Seen::Int(i), Answer::Int(j)) => i == *j,
            (Seen::Float(f), Answer::Float(g)) => f == *g,
            (Seen::Bool(b), Answer::Bool(c)) => b == *c,
            _ => false,
        }
    }

    fn stored(self) -> Answer {
        match self {
            Seen::Absent => Answer::Absent,
            Seen::Null => Answer::Null,
            Seen::Str(s) => Answer::Str(s.into()),
            Seen::Int(i) => Answer::Int(i),
            Seen::Float(f) => Answer::Float(f),
            Seen::Bool(b) => Answer::Bool(b),
        }
    }
}

/// A node: the field it asks next, or the verdict.
struct Node {
    /// The answer on the branch that leads here (checked against the event's, so that a hash
    /// collision is never taken for a match).
    answer: Answer,
    next: Next,
}

enum Next {
    /// The field asked next.
    Ask(Asked),
    /// The rules that matched (indexes into `RuleSet::rules`, in order).
    Verdict(Box<[usize]>),
}

/// A field the engine asks.
#[derive(Clone, Copy, PartialEq)]
enum Asked {
    /// A kept field (its index in `record::FIELDS`): read without looking its path up.
    Kept(usize),
    /// Any other path (under a payload, an object of kept fields): an index into
    /// `Tree::paths`.
    Path(u32),
}

/// The decision tree of the evaluations recorded so far.
#[derive(Default)]
struct Tree {
    /// Node 0 is the root (when there is any node).
    nodes: Vec<Node>,
    /// (node, hash of the answer) → the node that answer leads to.
    edges: FxHashMap<(u32, u64), u32>,
    paths: Vec<Box<str>>,
    path_ids: FxHashMap<Box<str>, u32>,
    /// Verdicts given from the tree (for tests: the memo is used).
    answered: u64,
}

/// What walking the tree gave.
enum Walk {
    Verdict(Vec<usize>),
    /// Fell off the tree: evaluate.
    Unknown,
}

impl Tree {
    fn walk(&mut self, event: &Record<'_, '_>) -> Walk {
        if self.nodes.is_empty() {
            return Walk::Unknown;
        }
        let mut at = 0u32;
        loop {
            match &self.nodes[at as usize].next {
                Next::Verdict(v) => {
                    let v = v.to_vec();
                    self.answered += 1;
                    return Walk::Verdict(v);
                }
                Next::Ask(asked) => {
                    let v = match *asked {
                        Asked::Kept(f) => event.get_kept(f),
                        Asked::Path(p) => event.get_field(&self.paths[p as usize]),
                    };
                    let Some(seen) = Seen::of(&v) else {
                        return Walk::Unknown;
                    };
                    match self.edges.get(&(at, seen.hash())) {
                        Some(&n) if seen.is(&self.nodes[n as usize].answer) => at = n,
                        _ => return Walk::Unknown,
                    }
                }
            }
        }
    }

    fn asked(&mut self, path: &str) -> Asked {
        if let Some(f) = record::kept_field(path) {
            return Asked::Kept(f);
        }
        if let Some(&k) = self.path_ids.get(path) {
            return Asked::Path(k);
        }
        let k = self.paths.len() as u32;
        self.paths.push(path.into());
        self.path_ids.insert(path.into(), k);
        Asked::Path(k)
    }

    /// Adds the path of one evaluation: the fields asked (first time each, in order) with
    /// their answers, and the verdict.
    fn record(&mut self, asked: &[(Box<str>, Answer, u64)], verdict: &[usize]) {
        if self.nodes.len() + asked.len() + 1 > MAX_NODES {
            *self = Tree {
                answered: self.answered,
                ..Tree::default()
            };
        }
        let next_of = |t: &mut Tree, k: usize| match asked.get(k) {
            Some((p, _, _)) => Next::Ask(t.asked(p)),
            None => Next::Verdict(verdict.into()),
        };
        if self.nodes.is_empty() {
            let next = next_of(self, 0);
            self.nodes.push(Node {
                answer: Answer::Absent,
                next,
            });
        }
        let mut at = 0u32;
        for (k, (path, answer, hash)) in asked.iter().enumerate() {
            // The engine asked this node's field here: the tree and the evaluation agree, or
            // the evaluation was not a function of the answers (then nothing is recorded).
            let here = self.asked(path);
            match &self.nodes[at as usize].next {
                Next::Ask(a) if *a == here => {}
                _ => return,
            }
            match self.edges.get(&(at, *hash)) {
                Some(&n) if self.nodes[n as usize].answer == *answer => at = n,
                Some(_) => return, // a hash collision: leave this path out
                None => {
                    let next = next_of(self, k + 1);
                    let n = self.nodes.len() as u32;
                    self.nodes.push(Node {
                        answer: answer.clone(),
                        next,
                    });
                    self.edges.insert((at, *hash), n);
                    at = n;
                }
            }
        }
    }
}

/// An event seen through the engine's eyes: every field it asks is noted with its answer.
struct Recording<'e, 'c, 'a> {
    event: &'e Record<'c, 'a>,
    /// Fields asked (first time each), their answers and the answers' hashes.
    asked: RefCell<Vec<(Box<str>, Answer, u64)>>,
    /// False once the evaluation read the event in a way not memoised.
    memoisable: Cell<bool>,
}

impl Event for Recording<'_, '_, '_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        let v = self.event.get_field(path);
        match Seen::of(&v) {
            None => self.memoisable.set(false),
            Some(seen) => {
                let mut asked = self.asked.borrow_mut();
                if !asked.iter().any(|(p, _, _)| **p == *path) {
                    asked.push((path.into(), seen.stored(), seen.hash()));
                }
            }
        }
        v
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.memoisable.set(false);
        self.event.any_string_value(pred)
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.memoisable.set(false);
        self.event.all_string_values()
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.memoisable.set(false);
        self.event.visit_string_values(visit)
    }

    fn to_json(&self) -> Value {
        self.memoisable.set(false);
        self.event.to_json()
    }
}

/// The groups of `RuleSet::groups` that are memoised (the last is evaluated on every event).
const MEMOISED: usize = 2;

/// Memoised evaluation: per worker thread (each thread only ever locks its own), a tree per
/// memoised group of rules.
pub(super) struct Memo {
    trees: Vec<Mutex<[Tree; MEMOISED]>>,
}

impl Memo {
    pub fn new() -> Memo {
        Memo {
            trees: (0..=rayon::current_num_threads())
                .map(|_| Mutex::new(Default::default()))
                .collect(),
        }
    }

    /// Verdicts given from the trees so far.
    #[cfg(test)]
    pub fn answered(&self) -> u64 {
        self.trees
            .iter()
            .map(|t| {
                let t = t.lock().unwrap_or_else(|e| e.into_inner());
                t.iter().map(|tree| tree.answered).sum::<u64>()
            })
            .sum()
    }

    /// The rules (indexes into `rules.rules`) that match `event`, in rule order: what
    /// `super::matches` gives. Each memoised group's verdict comes from its tree when it can;
    /// the rules on per-event fields are evaluated.
    pub fn matches(&self, rules: &RuleSet, event: &Record<'_, '_>) -> Vec<usize> {
        let slot = rayon::current_thread_index()
            .unwrap_or(self.trees.len() - 1)
            .min(self.trees.len() - 1);
        let mut trees = self.trees[slot].lock().unwrap_or_else(|e| e.into_inner());
        let mut k = Vec::new();
        for (g, engine) in rules.groups.iter().enumerate() {
            if engine.rule_count() == 0 {
                continue;
            }
            match trees.get_mut(g) {
                Some(tree) => k.extend(memoised(rules, engine, tree, event)),
                None => k.extend(super::matches_in(rules, engine, event)),
            }
        }
        k.sort_unstable();
        k
    }
}

/// The verdict of `engine` (a memoised group of `rules`) on `event`, from `tree` or evaluated
/// (and then recorded).
fn memoised(
    rules: &RuleSet,
    engine: &rsigma_eval::Engine,
    tree: &mut Tree,
    event: &Record<'_, '_>,
) -> Vec<usize> {
    if let Walk::Verdict(v) = tree.walk(event) {
        return v;
    }
    let recording = Recording {
        event,
        asked: RefCell::new(Vec::new()),
        memoisable: Cell::new(true),
    };
    let verdict = super::matches_in(rules, engine, &recording);
    if recording.memoisable.get() {
        tree.record(&recording.asked.borrow(), &verdict);
    }
    verdict
}
