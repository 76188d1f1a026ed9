//! The texts of in-app messages (and the mail and SMS made from them): one
//! template each under `templates/messages/`, its first line the title and
//! the rest the body. Use cases and jobs fill them in; no message text is
//! written in Rust.

use askama::Template;

/// A message's title and body, as filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub title: String,
    pub body: String,
}

/// Fills in a message template: its first line is the title. A text that
/// someone typed with its own full stop does not double the template's
/// (`原因：门牌号不完整。。` reads `原因：门牌号不完整。`).
pub fn fill(t: &impl Template) -> Text {
    let text = t.render().unwrap_or_default();
    let (title, body) = text.split_once('\n').unwrap_or((&text, ""));
    Text {
        title: onestop_domain::text::single_stops(title.trim()),
        body: onestop_domain::text::single_stops(body.trim()),
    }
}

/// An action taken on one of the applicant's orders.
#[derive(Template)]
#[template(path = "messages/order_progress.txt")]
pub struct OrderProgress<'a> {
    pub number: &'a str,
    pub service: &'a str,
    pub unit: &'a str,
    /// The action as the process names it.
    pub label: &'a str,
    pub reason: Option<&'a str>,
    /// The order's status code after the action (`open`, `returned`, …).
    pub status: &'a str,
    /// The stage it is at now (when open).
    pub stage: &'a str,
    /// The status as a result (when closed).
    pub result: &'a str,
}

/// Every order of the application is done.
#[derive(Template)]
#[template(path = "messages/application_completed.txt")]
pub struct ApplicationCompleted<'a> {
    pub number: &'a str,
}

/// An order reached its warning share or fell overdue.
#[derive(Template)]
#[template(path = "messages/order_level.txt")]
pub struct OrderLevel<'a> {
    pub overdue: bool,
    pub number: &'a str,
    pub service: &'a str,
    pub unit: &'a str,
    pub stage: &'a str,
    /// When it is (was) due, for people.
    pub due: &'a str,
}

/// A department's approval item reached its warning share or fell overdue.
#[derive(Template)]
#[template(path = "messages/approval_level.txt")]
pub struct ApprovalLevel<'a> {
    pub overdue: bool,
    pub number: &'a str,
    pub department: &'a str,
    pub due: &'a str,
}

/// A supervisor's reminder on an open order.
#[derive(Template)]
#[template(path = "messages/reminder.txt")]
pub struct Reminder<'a> {
    pub number: &'a str,
    pub service: &'a str,
    pub by: &'a str,
    pub note: &'a str,
}

/// The handling unit acknowledged a reminder.
#[derive(Template)]
#[template(path = "messages/reminder_acknowledged.txt")]
pub struct ReminderAcknowledged<'a> {
    pub by: &'a str,
    pub note: &'a str,
    pub reply: Option<&'a str>,
}

/// A decision on an enterprise claim, told to the claimant.
#[derive(Template)]
#[template(path = "messages/identity_decided.txt")]
pub struct IdentityDecided<'a> {
    /// `verified`, `rejected` or `revoked`.
    pub status: &'a str,
    /// The claimant became the enterprise's owner.
    pub owner: bool,
    pub name: &'a str,
    pub note: Option<&'a str>,
}

/// A colleague claims the enterprise, told to its owners.
#[derive(Template)]
#[template(path = "messages/claim_requested.txt")]
pub struct ClaimRequested<'a> {
    pub claimant: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_bodies_read_as_before() {
        let t = fill(&OrderProgress {
            number: "LB2026120100001",
            service: "供水",
            unit: "随州市水务集团",
            label: "退回补正",
            reason: Some("门牌号不完整"),
            status: "returned",
            stage: "受理",
            result: "",
        });
        assert_eq!(t.title, "申请进度：LB2026120100001 供水");
        let typed_stop = fill(&OrderProgress {
            reason: Some("门牌号不完整。"),
            ..OrderProgress {
                number: "LB2026120100001",
                service: "供水",
                unit: "随州市水务集团",
                label: "退回补正",
                reason: None,
                status: "returned",
                stage: "受理",
                result: "",
            }
        });
        assert!(
            typed_stop.body.contains("原因：门牌号不完整。请按")
                && !typed_stop.body.contains("。。"),
            "{}",
            typed_stop.body
        );
        assert_eq!(
            t.body,
            "随州市水务集团已办理“退回补正”。原因：门牌号不完整。请按退回原因修改申请后重新提交，补正期间暂停计时。"
        );
        let t = fill(&OrderLevel {
            overdue: true,
            number: "LB1",
            service: "供电",
            unit: "供电公司",
            stage: "受理",
            due: "2026年12月01日 10:00",
        });
        assert_eq!(t.title, "工单超期：LB1 供电");
        assert_eq!(
            t.body,
            "供电公司承办的供电工单（申请 LB1，受理环节）已超过办理时限（2026年12月01日 10:00），请尽快办结。"
        );
        let t = fill(&ReminderAcknowledged {
            by: "张三",
            note: "请加快",
            reply: None,
        });
        assert_eq!(t.title, "督办已确认收到");
        assert_eq!(t.body, "张三已确认收到督办“请加快”。");
        let t = fill(&IdentityDecided {
            status: "rejected",
            owner: false,
            name: "随州市某某有限公司",
            note: Some("执照已注销"),
        });
        assert_eq!(t.title, "企业认证未通过");
        assert_eq!(
            t.body,
            "您认领“随州市某某有限公司”的申请未通过。说明：执照已注销。如有疑问，请携带营业执照和本人身份证件到营业厅窗口办理。"
        );
    }
}
