//! `off_hours`: a role assumption made directly by an IAM user, root, or SAML / Identity Center
//! origin inside an off-hours window.

use super::Detector;
use crate::anomalies::context::{
    first_issuance_id, is_role_assumption, issuance_ids, role_disp, session_involved, Context,
    Draft, Out,
};
use crate::anomalies::values::{self, TimeZone, Window};
use crate::anomalies::Severity;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use trailgraph_log::model::{format_time, OriginKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OffHours {
    #[serde(deserialize_with = "values::boolean")]
    pub enabled: bool,
    pub severity: Severity,
    #[serde(deserialize_with = "values::windows")]
    pub windows: Vec<Window>,
    pub timezone: TimeZone,
}

impl Default for OffHours {
    fn default() -> Self {
        OffHours {
            enabled: true,
            severity: Severity::Low,
            windows: vec![
                Window::parse("Mon-Fri 20:00-07:00").expect("valid default"),
                Window::parse("Sat-Sun 00:00-24:00").expect("valid default"),
            ],
            timezone: TimeZone::utc(),
        }
    }
}

fn human_origin(o: &str) -> Option<&'static str> {
    match OriginKind::of(o) {
        OriginKind::Saml => Some("SAML"),
        OriginKind::IdentityCenter => Some("Identity Center"),
        OriginKind::IamUser => Some("IAM user"),
        OriginKind::Root => Some("root"),
        _ => None,
    }
}

impl Detector for OffHours {
    const ABOUT: &'static str = "\
A role assumption made directly by an IAM user, root, or SAML / Identity Center origin inside
an off-hours window. Windows are weekly: \"<days> <HH:MM>-<HH:MM>\", days as \"Mon-Fri\",
\"Sat,Sun\" or \"Tue\"; an end before the start wraps past midnight (20:00-07:00 on a listed
day means from 20:00 or before 07:00 that day). Timezone: \"UTC\" or a fixed offset
such as \"+02:00\" or \"UTC-05:00\".";

    fn detect(&self, cx: &Context, out: &mut Out) -> Result<()> {
        let off = self.timezone.offset_min as i64 * 60_000;
        for s in cx.sessions {
            if !is_role_assumption(s) || s.chain.len() != 1 {
                continue;
            }
            let (Some(t), Some(what)) = (s.issued_at, human_origin(&s.origin)) else {
                continue;
            };
            let local = t + off;
            let days = local.div_euclid(86_400_000);
            let minute = (local.rem_euclid(86_400_000) / 60_000) as u32;
            let weekday = (days + 3).rem_euclid(7) as u32; // 1970-01-01 was a Thursday.
            let Some(w) = self.windows.iter().find(|w| w.contains(weekday, minute)) else {
                continue;
            };
            const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
            let role = s.role_arn.as_deref().unwrap_or("?");
            let date = format_time(days * 86_400_000);
            let explanation = format!(
                "{what} {} assumed {} on {} {} {:02}:{:02} {}, inside the off-hours window {:?}.",
                s.origin,
                role_disp(role),
                NAMES[weekday as usize],
                &date[..10],
                minute / 60,
                minute % 60,
                self.timezone,
                w.text
            );
            out.add(
                &session_involved(s),
                Draft {
                    subject: s.origin.clone(),
                    origin: s.origin.clone(),
                    first_event_id: first_issuance_id(s),
                    time: s.issued_at,
                    event_ids: issuance_ids(s).collect(),
                    explanation,
                },
            );
        }
        Ok(())
    }
}
