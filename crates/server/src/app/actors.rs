//! Who did something, as people read it in a history: a person's name and
//! unit ("随州市水务集团 张三"), an integration by its unit or name, or the
//! system — never a login name or a code. The history and the records keep
//! the actor as written when it acted (`account:<login>`, `api_key:<name>`,
//! `system:<job>`, `anonymous`, see `Subject::actor`); a page looks the
//! people up once and names every line with [`Actors::who`].

use crate::AppState;
use crate::app::error::Error;
use crate::texts;
use onestop_domain::access::{Role, mask_phones_in};
use onestop_domain::config::CityConfig;
use onestop_store::StoreError;
use onestop_store::db::Conn;
use std::collections::HashMap;

/// An account as a history names it.
#[derive(Debug, Clone)]
struct Person {
    name: String,
    /// `(role, scope)` pairs.
    grants: Vec<(String, String)>,
    enterprise: Option<String>,
}

/// The people and integration keys behind a page's actors.
#[derive(Debug, Clone, Default)]
pub struct Actors {
    people: HashMap<String, Person>,
    /// A key's name → the units whose work orders it writes.
    keys: HashMap<String, Vec<String>>,
    /// What an anonymous submitter reads as (the enterprise named on the
    /// application), when the page knows it.
    pub applicant: Option<String>,
}

/// One actor for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// `随州市水务集团 张三`, `系统`, `政务服务网（系统接口）`.
    pub text: String,
    /// The person's (or integration's) name alone, for a signer column.
    pub name: String,
    /// Done by the platform itself (a clock, an import, the commitment's
    /// automatic approval): the line reads `系统：…`.
    pub system: bool,
}

impl Actors {
    /// Looks up the accounts and keys among `actors`.
    pub fn load<'a>(
        c: &mut dyn Conn,
        actors: impl IntoIterator<Item = &'a str>,
    ) -> Result<Actors, StoreError> {
        let mut out = Actors::default();
        let mut keys = false;
        for a in actors {
            if let Some(login) = a.strip_prefix("account:") {
                if out.people.contains_key(login) {
                    continue;
                }
                if let Some(acc) = onestop_store::accounts::by_username(c, login)? {
                    out.people.insert(
                        login.to_owned(),
                        Person {
                            name: acc.display_name,
                            grants: acc.grants,
                            enterprise: acc.enterprise_name,
                        },
                    );
                }
            } else if a.starts_with("api_key:") {
                keys = true;
            }
        }
        if keys {
            for k in onestop_store::accounts::list_api_keys(c)? {
                let units = out.keys.entry(k.name).or_default();
                for s in k.scopes.split([',', ' ', '\n']) {
                    if let Some(u) = s.trim().strip_prefix("workorders:write:")
                        && !units.iter().any(|x| x == u)
                    {
                        units.push(u.to_owned());
                    }
                }
            }
        }
        Ok(out)
    }

    /// [`Actors::load`] in a read of its own.
    pub async fn read(state: &AppState, actors: Vec<String>) -> Result<Actors, Error> {
        Ok(state
            .store
            .read(move |c| Actors::load(c, actors.iter().map(String::as_str)))
            .await?)
    }

    /// `actor` for people; `unit` is the unit the line is about (the
    /// order's utility, the item's department), named first when the
    /// person belongs to it.
    pub fn who(&self, config: &CityConfig, actor: &str, unit: Option<&str>) -> Who {
        use texts::actors as t;
        let (kind, rest) = actor.split_once(':').unwrap_or((actor, ""));
        match kind {
            "system" => {
                let text = if rest == "commitment" {
                    t::COMMITMENT
                } else {
                    t::SYSTEM
                };
                Who {
                    text: text.to_owned(),
                    name: text.to_owned(),
                    system: true,
                }
            }
            "account" => match self.people.get(rest) {
                Some(p) => {
                    let name = mask_phones_in(p.name.trim());
                    let text = match unit_of(config, p, unit, self.applicant.as_deref()) {
                        Some(u) => texts::fill(t::PERSON, &[("unit", &u), ("name", &name)]),
                        None => name.clone(),
                    };
                    Who {
                        text,
                        name,
                        system: false,
                    }
                }
                None => person(t::SOMEONE.to_owned()),
            },
            "api_key" => {
                let owner = match self.keys.get(rest).map(Vec::as_slice) {
                    Some([u]) => config
                        .unit(u)
                        .map_or_else(|| rest.to_owned(), |x| x.name.clone()),
                    _ => rest.to_owned(),
                };
                person(texts::fill(t::INTEGRATION, &[("name", &owner)]))
            }
            _ => person(
                self.applicant
                    .clone()
                    .unwrap_or_else(|| t::APPLICANT.to_owned()),
            ),
        }
    }
}

fn person(text: String) -> Who {
    Who {
        name: text.clone(),
        text,
        system: false,
    }
}

/// The unit a person acts for: `prefer` when one of their grants is for
/// it, else their first utility, department or supervising unit, their
/// hall, their enterprise (the page's `applicant` when the account does not
/// name it), or their role.
fn unit_of(
    config: &CityConfig,
    p: &Person,
    prefer: Option<&str>,
    applicant: Option<&str>,
) -> Option<String> {
    let unit_name = |code: &str| {
        config
            .unit(code)
            .map_or_else(|| code.to_owned(), |u| u.name.clone())
    };
    if let Some(u) = prefer
        && p.grants.iter().any(|(_, s)| s == u)
    {
        return Some(unit_name(u));
    }
    let grant = |role: Role| {
        p.grants
            .iter()
            .find(|(r, s)| r == role.as_str() && !s.is_empty())
            .map(|(_, s)| s.as_str())
    };
    for role in [Role::Operator, Role::Approver, Role::Supervisor] {
        if let Some(s) = grant(role) {
            return Some(unit_name(s));
        }
    }
    if let Some(h) = grant(Role::Clerk) {
        return Some(texts::fill(texts::admin::HALL_SCOPE, &[("hall", &h)]));
    }
    if grant(Role::Applicant).is_some() || grant(Role::Claimant).is_some() {
        return Some(
            p.enterprise
                .clone()
                .filter(|e| !e.trim().is_empty())
                .or_else(|| applicant.map(str::to_owned))
                .unwrap_or_else(|| Role::Applicant.label_zh().to_owned()),
        );
    }
    p.grants
        .iter()
        .find_map(|(r, _)| Role::parse(r))
        .map(|r| r.label_zh().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CityConfig {
        CityConfig::default_city()
    }

    fn actors() -> Actors {
        let mut a = Actors::default();
        a.people.insert(
            "water1".into(),
            Person {
                name: "张三".into(),
                grants: vec![("operator".into(), "sz-water".into())],
                enterprise: None,
            },
        );
        a.people.insert(
            "13800001111".into(),
            Person {
                name: "13800001111".into(),
                grants: vec![("applicant".into(), "91421300MA49ABCD17".into())],
                enterprise: Some("随州市示例商贸有限公司".into()),
            },
        );
        a.people.insert(
            "both".into(),
            Person {
                name: "李四".into(),
                grants: vec![
                    ("operator".into(), "sz-gas".into()),
                    ("operator".into(), "sz-water".into()),
                ],
                enterprise: None,
            },
        );
        a.keys.insert("水务接口".into(), vec!["sz-water".into()]);
        a
    }

    #[test]
    fn people_read_as_their_unit_and_name() {
        let (c, a) = (config(), actors());
        let who = a.who(&c, "account:water1", None);
        assert_eq!(who.text, "随州市水务集团 张三");
        assert_eq!(who.name, "张三");
        assert!(!who.system);
        // The unit the line is about comes first.
        assert_eq!(
            a.who(&c, "account:both", Some("sz-water")).text,
            "随州市水务集团 李四"
        );
        // A phone number is never shown in full.
        assert_eq!(
            a.who(&c, "account:13800001111", None).text,
            "随州市示例商贸有限公司 138****1111"
        );
        assert_eq!(a.who(&c, "account:gone", None).text, "平台用户");
    }

    #[test]
    fn the_system_and_integrations_read_as_such() {
        let (c, mut a) = (config(), actors());
        for job in ["system:clock", "system:calendar", "system:cli"] {
            let who = a.who(&c, job, None);
            assert_eq!((who.text.as_str(), who.system), ("系统", true));
        }
        assert_eq!(
            a.who(&c, "system:commitment", None).text,
            "系统（告知承诺制）"
        );
        assert_eq!(
            a.who(&c, "api_key:水务接口", None).text,
            "随州市水务集团（系统接口）"
        );
        assert_eq!(
            a.who(&c, "api_key:政务服务网", None).text,
            "政务服务网（系统接口）"
        );
        assert_eq!(a.who(&c, "anonymous", None).text, "申请人");
        a.applicant = Some("随州市示例商贸有限公司".into());
        assert_eq!(a.who(&c, "anonymous", None).text, "随州市示例商贸有限公司");
    }
}
