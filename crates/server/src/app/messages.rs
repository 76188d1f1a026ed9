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

/// A work order arrived at its unit: new with the application, or back
/// from the applicant after a correction.
#[derive(Template)]
#[template(path = "messages/order_arrived.txt")]
pub struct OrderArrived<'a> {
    /// Back after a correction (else new).
    pub resubmitted: bool,
    pub number: &'a str,
    pub applicant: &'a str,
    pub service: &'a str,
    pub unit: &'a str,
    /// By when it is to be accepted, for people.
    pub due: &'a str,
}

/// A department's approval item was put to it: a new case, or a rejected
/// one revised and resubmitted (a later round).
#[derive(Template)]
#[template(path = "messages/approval_item.txt")]
pub struct ApprovalItem<'a> {
    pub round: i64,
    pub number: &'a str,
    pub applicant: &'a str,
    /// The utility that raised (or revised) the case.
    pub unit: &'a str,
    pub department: &'a str,
    pub place: &'a str,
    /// The works' dates, for people.
    pub dates: &'a str,
    /// What the utility revised (a later round).
    pub note: Option<&'a str>,
    pub due: &'a str,
}

/// A department rejected a case: told to a utility with works in it.
#[derive(Template)]
#[template(path = "messages/approval_rejected.txt")]
pub struct ApprovalRejected<'a> {
    pub number: &'a str,
    pub department: &'a str,
    pub place: &'a str,
    pub opinion: &'a str,
    pub unit: &'a str,
    pub service: &'a str,
    /// The deadline of the utility's order in the approval stage.
    pub due: &'a str,
}

/// The joint survey's appointment, set or moved: told to the enterprise.
#[derive(Template)]
#[template(path = "messages/survey_appointed.txt")]
pub struct SurveyAppointed<'a> {
    pub number: &'a str,
    /// The utility that set it.
    pub unit: &'a str,
    pub at: &'a str,
    /// The appointment it replaces, when moved.
    pub before: Option<&'a str>,
    pub address: &'a str,
}

/// An application was cancelled: its department's pending item is withdrawn.
#[derive(Template)]
#[template(path = "messages/approval_withdrawn.txt")]
pub struct ApprovalWithdrawn<'a> {
    pub number: &'a str,
    pub applicant: &'a str,
    pub department: &'a str,
    pub reason: Option<&'a str>,
}

/// A follow-up put to a unit: a consultation the window passed on, or a
/// bad rating.
#[derive(Template)]
#[template(path = "messages/follow_up_arrived.txt")]
pub struct FollowUpArrived<'a> {
    /// A bad rating (else a consultation).
    pub rating: bool,
    pub unit: &'a str,
    /// Where it came from: the hall, or the enterprise and its application.
    pub origin: &'a str,
    pub topic: &'a str,
    pub level: &'a str,
    pub comment: Option<&'a str>,
    pub due: &'a str,
}

/// A follow-up reached its warning share or fell overdue.
#[derive(Template)]
#[template(path = "messages/follow_up_level.txt")]
pub struct FollowUpLevel<'a> {
    pub overdue: bool,
    /// 咨询回复 or 差评整改.
    pub what: &'a str,
    pub unit: &'a str,
    pub summary: &'a str,
    pub due: &'a str,
}

/// The unit answered a follow-up: told to whoever logged the consultation
/// or gave the rating.
#[derive(Template)]
#[template(path = "messages/follow_up_answered.txt")]
pub struct FollowUpAnswered<'a> {
    pub rating: bool,
    pub unit: &'a str,
    pub topic: &'a str,
    pub level: &'a str,
    pub response: &'a str,
}

/// Text someone typed, as a clause of a message's sentence: trimmed, without
/// the full stop (or other closing punctuation) the sentence adds itself.
pub fn clause(typed: &str) -> &str {
    typed
        .trim()
        .trim_end_matches(['。', '.', '，', ',', '；', ';', '！', '!', '、'])
        .trim_end()
}

/// A `YYYY-MM-DD` date for people (`2026年09月25日`); anything else as given.
pub fn date_zh(date: &str) -> String {
    match onestop_domain::timefmt::parse_date(date) {
        Some(d) => format!("{:04}年{:02}月{:02}日", d.year(), d.month() as u8, d.day()),
        None => date.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_ends_in_the_sentences_own_full_stop() {
        assert_eq!(clause(" 项目暂缓。 "), "项目暂缓");
        assert_eq!(clause("请补充夜间施工安排；。"), "请补充夜间施工安排");
        assert_eq!(clause("交通大道"), "交通大道");
        assert_eq!(clause("。"), "");
        assert_eq!(date_zh("2026-09-25"), "2026年09月25日");
        assert_eq!(date_zh("不是日期"), "不是日期");
        let t = fill(&ApprovalWithdrawn {
            number: "LB1",
            applicant: "某某公司",
            department: "交通运输局",
            reason: Some(clause("项目暂缓。")),
        });
        assert_eq!(t.title, "审批事项已撤回：LB1");
        assert_eq!(
            t.body,
            "申请 LB1（某某公司）已撤销，交通运输局的并联审批事项随之撤回，无需再签署意见。撤销原因：项目暂缓。"
        );
        let t = fill(&ApprovalWithdrawn {
            number: "LB1",
            applicant: "某某公司",
            department: "交通运输局",
            reason: None,
        });
        assert!(t.body.ends_with("无需再签署意见。"), "{}", t.body);
        let t = fill(&ApprovalItem {
            round: 2,
            number: "LB1",
            applicant: "某某公司",
            unit: "供热单位",
            department: "交警支队",
            place: "交通大道",
            dates: "2026年09月25日",
            note: None,
            due: "2026年09月23日 11:00",
        });
        assert_eq!(t.title, "审批事项重新提交：LB1");
        assert_eq!(
            t.body,
            "供热单位已按审批意见修改申请 LB1（某某公司）的外线工程并重新提交，现为第 2 轮审批。\
             施工地点为交通大道，施工日期为 2026年09月25日。交警支队的审批事项请于 2026年09月23日 11:00 前签署意见。"
        );
    }

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

/// A project was registered at land transfer (一口登记) and concerns the
/// unit: it is to visit jointly and plan its network ahead.
#[derive(Template)]
#[template(path = "messages/pre_registration_arrived.txt")]
pub struct PreRegistrationArrived<'a> {
    pub project_code: &'a str,
    pub land_parcel: &'a str,
    pub place: &'a str,
    /// The services named, or empty for none.
    pub services: &'a str,
    pub expected: &'a str,
}
