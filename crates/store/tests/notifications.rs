//! Notifications written set-based, on both databases: every recipient's
//! in-app message and outward deliveries, as each account's switches and
//! addresses allow, once per event.

use onestop_store::db::Conn;
use onestop_store::notifications::{self, Message, Outward};
use onestop_store::testing::Sql as _;
use onestop_store::testing::{Backend, TestDb, insert_account};
use onestop_store::{StoreError, accounts};

const T0: i64 = 1_790_000_000_000;

fn account(
    conn: &mut dyn Conn,
    id: &str,
    phone: Option<&str>,
    email: Option<&str>,
    (in_app, email_on, sms_on): (bool, bool, bool),
) -> Result<(), StoreError> {
    insert_account(conn, id, phone, T0)?;
    let contact = accounts::Contact {
        email: email.map(Into::into),
        phone: phone.map(Into::into),
        in_app,
        email_on,
        sms_on,
    };
    assert!(accounts::set_contact(conn, id, &contact, T0)?);
    Ok(())
}

fn message(key: &str, link: Option<&str>) -> Message {
    Message {
        event_key: key.into(),
        kind: "order_due".into(),
        title: "工单即将超时".into(),
        body: "请尽快处理".into(),
        link: link.map(Into::into),
        at_ms: T0 + 5,
    }
}

type InApp = (String, String, String, String, String, Option<String>, i64);
type Outgoing = (String, String, String, String, String, i64, i64, i64);

fn rows(conn: &mut dyn Conn) -> Result<(Vec<InApp>, Vec<Outgoing>), StoreError> {
    let in_app = conn
        .query(
            "SELECT account_id, event_key, kind, title, body, link, created_at
             FROM notifications ORDER BY account_id, event_key",
            &[],
        )?
        .iter()
        .map(|r| {
            let text = |i: usize| r.text(i).map(str::to_owned);
            let (account, event, kind) = (text(0)?, text(1)?, text(2)?);
            let (title, body) = (text(3)?, text(4)?);
            let link = r.opt_text(5)?.map(str::to_owned);
            Ok((account, event, kind, title, body, link, r.int(6)?))
        })
        .collect::<Result<_, StoreError>>()?;
    let outgoing = conn
        .query(
            "SELECT account_id, event_key, channel, address, status, attempts,
                    next_attempt_at, created_at
             FROM deliveries ORDER BY account_id, event_key, channel",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.text(0)?.to_owned(),
                r.text(1)?.to_owned(),
                r.text(2)?.to_owned(),
                r.text(3)?.to_owned(),
                r.text(4)?.to_owned(),
                r.int(5)?,
                r.int(6)?,
                r.int(7)?,
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((in_app, outgoing))
}

async fn each_recipient_gets_what_its_switches_allow(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open_store().await;
    let (in_app, outgoing) = store
        .write(|c| {
            account(
                c,
                "a-all",
                Some("13800000001"),
                Some("a@x.cn"),
                (true, true, true),
            )?;
            account(
                c,
                "b-app-only",
                Some("13800000002"),
                Some("b@x.cn"),
                (true, false, false),
            )?;
            account(
                c,
                "c-no-app",
                Some("13800000003"),
                None,
                (false, true, true),
            )?;
            account(c, "d-empty-mail", None, Some(""), (true, true, true))?;
            let to: Vec<String> = ["a-all", "b-app-only", "c-no-app", "d-empty-mail", "nobody"]
                .map(String::from)
                .to_vec();
            let both = Outward {
                email: true,
                sms: true,
            };
            let n = notifications::send(c, &to, &message("e1", Some("/x/1")), both)?;
            assert_eq!(n, 3, "in-app for a, b, d");
            // The same event again: nothing new, on any channel.
            let again = notifications::send(c, &to, &message("e1", Some("/x/1")), both)?;
            assert_eq!(again, 0);
            // A server with SMS only queues no email; a duplicate recipient
            // gets one message.
            let sms_only = Outward {
                email: false,
                sms: true,
            };
            let to2 = ["a-all", "a-all"].map(String::from).to_vec();
            assert_eq!(
                notifications::send(c, &to2, &message("e2", None), sms_only)?,
                1
            );
            assert_eq!(
                notifications::send(c, &[], &message("e3", None), sms_only)?,
                0
            );
            rows(c)
        })
        .await
        .unwrap();
    let app = |a: &str, e: &str, link: Option<&str>| {
        (
            a.to_owned(),
            e.to_owned(),
            "order_due".to_owned(),
            "工单即将超时".to_owned(),
            "请尽快处理".to_owned(),
            link.map(str::to_owned),
            T0 + 5,
        )
    };
    assert_eq!(
        in_app,
        vec![
            app("a-all", "e1", Some("/x/1")),
            app("a-all", "e2", None),
            app("b-app-only", "e1", Some("/x/1")),
            app("d-empty-mail", "e1", Some("/x/1")),
        ]
    );
    let out = |a: &str, e: &str, ch: &str, addr: &str| {
        (
            a.to_owned(),
            e.to_owned(),
            ch.to_owned(),
            addr.to_owned(),
            "pending".to_owned(),
            0,
            T0 + 5,
            T0 + 5,
        )
    };
    assert_eq!(
        outgoing,
        vec![
            out("a-all", "e1", "email", "a@x.cn"),
            out("a-all", "e1", "sms", "13800000001"),
            out("a-all", "e2", "sms", "13800000001"),
            out("c-no-app", "e1", "sms", "13800000003"),
        ]
    );
}

/// More recipients than one statement names: everyone still gets one.
async fn a_crowd_gets_one_message_each(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.open_store().await;
    let (n, in_app, outgoing) = store
        .write(|c| {
            let mut to = Vec::new();
            for i in 0..1_203 {
                let id = format!("u{i:04}");
                account(c, &id, Some("13800000000"), None, (true, true, i % 2 == 0))?;
                to.push(id);
            }
            let sms = Outward {
                email: true,
                sms: true,
            };
            let n = notifications::send(c, &to, &message("crowd", None), sms)?;
            let (a, o) = rows(c)?;
            Ok((n, a, o))
        })
        .await
        .unwrap();
    assert_eq!(n, 1_203);
    assert_eq!(in_app.len(), 1_203);
    assert_eq!(
        outgoing.len(),
        602,
        "SMS for the even ones, no email address"
    );
    assert!(outgoing.iter().all(|o| o.2 == "sms"));
}

use onestop_store::on_both_databases as both;

both!(
    each_recipient_gets_what_its_switches_allow,
    a_crowd_gets_one_message_each,
);
