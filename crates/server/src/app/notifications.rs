//! In-app messages: an account's list, unread count, and marking read.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use onestop_store::notifications::{self, Notification};
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

pub async fn load(
    state: &AppState,
    account: String,
    page: u32,
) -> Result<(Vec<Notification>, Option<u32>, i64), ApiError> {
    Ok(state
        .store
        .read(move |c| {
            let (items, next) = notifications::list(c, &account, page, PER_PAGE)?;
            Ok((items, next, notifications::unread_count(c, &account)?))
        })
        .await?)
}

pub async fn mark(state: &AppState, account: String, id: Option<i64>) -> Result<u64, ApiError> {
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
    pub next_page: Option<u32>,
}
