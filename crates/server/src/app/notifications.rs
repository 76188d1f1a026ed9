//! In-app messages: an account's list, unread count, and marking read.

use crate::AppState;
use crate::app::error::Error;
use crate::auth::Caller;
use onestop_store::notifications::{self, Notification};
use onestop_store::paging::{Page, PageAt};
use serde::Serialize;
use utoipa::ToSchema;

/// Messages per page.
pub const PER_PAGE: u32 = 20;

/// The signed-in account behind a request, or why not.
pub fn account_id(caller: &Caller) -> Option<String> {
    caller
        .account()
        .filter(|a| !a.must_change_password)
        .map(|a| a.id.clone())
}

/// A page of the account's messages, and how many are unread.
pub async fn load(
    state: &AppState,
    account: String,
    at: PageAt,
) -> Result<(Page<Notification>, i64), Error> {
    Ok(state
        .store
        .read(move |c| {
            let page = notifications::list(c, &account, &at, PER_PAGE)?;
            Ok((page, notifications::unread_count(c, &account)?))
        })
        .await?)
}

pub async fn mark(state: &AppState, account: String, id: Option<i64>) -> Result<u64, Error> {
    let now_ms = state.now_ms();
    Ok(state
        .store
        .write(move |c| notifications::mark_read(c, &account, id, now_ms))
        .await?)
}

/// One in-app message.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: String,
    pub read_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<NotificationView>,
    pub unread: i64,
    /// The next page's number while it is at most 100, else null.
    pub next_page: Option<u32>,
    /// Where the next page starts (pass it as `cursor`); null on the last page.
    pub next_cursor: Option<String>,
}
