//! An account's notification settings: which channels (in-app, SMS, mail)
//! carry which messages, and the contact they go to.

use crate::AppState;
use crate::app::error::Error;
use crate::auth::Caller;
use onestop_domain::access::mask_phone;
use onestop_domain::form::FieldCode;
use onestop_domain::form::FieldError;
use onestop_store::accounts::{self, Contact};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The settings as the API shows them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationSettings {
    /// Where email goes; `null` for none.
    pub email: Option<String>,
    /// The account's mobile number, masked (read only).
    #[serde(default, skip_deserializing)]
    pub phone: Option<String>,
    pub in_app: bool,
    pub email_enabled: bool,
    pub sms_enabled: bool,
    /// Whether this server sends email / SMS at all (read only).
    #[serde(default, skip_deserializing)]
    pub email_available: bool,
    #[serde(default, skip_deserializing)]
    pub sms_available: bool,
}

pub fn view(state: &AppState, c: Contact) -> NotificationSettings {
    let out = crate::jobs::delivery::outward(&state.config);
    NotificationSettings {
        email: c.email,
        phone: c.phone.as_deref().map(mask_phone),
        in_app: c.in_app,
        email_enabled: c.email_on,
        sms_enabled: c.sms_on,
        email_available: out.email,
        sms_available: out.sms,
    }
}

pub fn account_id(caller: &Caller) -> Option<String> {
    caller
        .account()
        .filter(|a| !a.must_change_password)
        .map(|a| a.id.clone())
}

pub async fn load(state: &AppState, id: String) -> Result<Contact, Error> {
    state
        .store
        .read(move |c| accounts::contact(c, &id))
        .await?
        .ok_or(Error::NotFound)
}

/// Checks and stores new settings; returns them as stored.
pub async fn save(
    state: &AppState,
    caller: &Caller,
    id: String,
    email: Option<String>,
    in_app: bool,
    email_on: bool,
    sms_on: bool,
) -> Result<Contact, Error> {
    let email = email
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty());
    if let Some(e) = &email
        && !onestop_domain::contact::is_email(e)
    {
        return Err(Error::Invalid(vec![FieldError::new(
            "email",
            FieldCode::InvalidFormat,
            crate::texts::settings::EMAIL_INVALID,
        )]));
    }
    let now_ms = state.now_ms();
    let old = load(state, id.clone()).await?;
    let new = Contact {
        email,
        phone: old.phone.clone(),
        in_app,
        email_on,
        sms_on,
    };
    let rec = caller.audit(
        now_ms,
        "notification_settings_changed",
        "success",
        "account",
        &id,
        serde_json::json!({
            "email_changed": old.email != new.email,
            "in_app": new.in_app, "email": new.email_on, "sms": new.sms_on,
        }),
    );
    let stored = new.clone();
    let audit_key = state.audit_key.clone();
    let found = state
        .store
        .write(move |c| {
            if !accounts::set_contact(c, &id, &stored, now_ms)? {
                return Ok(false);
            }
            onestop_store::audit::append(c, &audit_key, std::slice::from_ref(&rec))?;
            Ok(true)
        })
        .await?;
    if !found {
        return Err(Error::NotFound);
    }
    Ok(new)
}
