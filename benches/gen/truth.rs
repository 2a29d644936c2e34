//! Ground truth: who is behind each distinct event, in the product's
//! canonical origin / chain / depth / confidence conventions.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::rc::Rc;

use anyhow::Result;

use crate::json::Obj;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Conf {
    /// Every link matched by issued key + creationDate.
    Exact,
    /// Some link matched only by session ARN + creationDate, or the origin
    /// is an uncollected account.
    Inferred,
    /// The origin is `unknown:…`.
    Unknown,
}

impl Conf {
    pub fn as_str(self) -> &'static str {
        match self {
            Conf::Exact => "exact",
            Conf::Inferred => "inferred",
            Conf::Unknown => "unknown",
        }
    }
}

/// Attribution of a principal (and so of every event it signs).
#[derive(Clone, Debug)]
pub struct Truth {
    pub origin: Rc<str>,
    /// Role ARNs from the origin down, joined by `>`.
    pub chain: Rc<str>,
    pub depth: u8,
    pub conf: Conf,
}

impl Truth {
    pub fn direct(origin: &str, conf: Conf) -> Truth {
        Truth {
            origin: origin.into(),
            chain: "".into(),
            depth: 0,
            conf,
        }
    }

    /// The session issued by a principal with this truth, for a role (or
    /// AssumeRoot target) `hop`, linked with confidence `link`.
    pub fn extend(&self, hop: &str, link: Conf) -> Truth {
        let chain: Rc<str> = if self.chain.is_empty() {
            hop.into()
        } else {
            format!("{}>{}", self.chain, hop).into()
        };
        Truth {
            origin: self.origin.clone(),
            chain,
            depth: self.depth + 1,
            conf: self.conf.max(link),
        }
    }

    /// A session whose issuance is not in the corpus.
    pub fn orphan(key: &str, role_arn: &str) -> Truth {
        Truth {
            origin: format!("unknown:{key}").into(),
            chain: role_arn.into(),
            depth: 1,
            conf: Conf::Unknown,
        }
    }
}

struct Line {
    event_id: String,
    recipient: Rc<str>,
    text: String,
}

/// Collects truth lines; events arrive in non-decreasing time, so lines are
/// sorted one second at a time and streamed out.
pub struct TruthSink {
    out: Option<BufWriter<File>>,
    cur_time: i64,
    buf: Vec<Line>,
    pub lines: u64,
}

impl TruthSink {
    pub fn new(path: Option<&std::path::Path>) -> Result<TruthSink> {
        let out = match path {
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                Some(BufWriter::with_capacity(1 << 20, File::create(p)?))
            }
            None => None,
        };
        Ok(TruthSink {
            out,
            cur_time: i64::MIN,
            buf: Vec::new(),
            lines: 0,
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        time: i64,
        time_str: &str,
        event_id: &str,
        recipient: &Rc<str>,
        event_name: &str,
        t: &Truth,
    ) -> Result<()> {
        self.lines += 1;
        if self.out.is_none() {
            return Ok(());
        }
        debug_assert!(time >= self.cur_time, "truth out of time order");
        if time != self.cur_time {
            self.flush_second()?;
            self.cur_time = time;
        }
        let mut text = String::with_capacity(256);
        {
            let mut o = Obj::new(&mut text);
            o.s("event_id", event_id)
                .s("recipient_account", recipient)
                .s("origin", &t.origin)
                .s("chain", &t.chain)
                .n("depth", i64::from(t.depth))
                .s("confidence", t.conf.as_str())
                .s("event_time", time_str)
                .s("event_name", event_name);
        }
        text.push('\n');
        self.buf.push(Line {
            event_id: event_id.to_owned(),
            recipient: recipient.clone(),
            text,
        });
        Ok(())
    }

    fn flush_second(&mut self) -> Result<()> {
        if let Some(out) = self.out.as_mut() {
            self.buf.sort_unstable_by(|a, b| {
                (a.event_id.as_str(), &*a.recipient).cmp(&(b.event_id.as_str(), &*b.recipient))
            });
            for l in self.buf.drain(..) {
                out.write_all(l.text.as_bytes())?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.flush_second()?;
        if let Some(mut out) = self.out.take() {
            out.flush()?;
        }
        Ok(())
    }
}
