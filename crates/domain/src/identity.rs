//! Enterprise identity (企业认证): an account's claim to act for an
//! enterprise, and who may decide it.
//!
//! Registering claims an enterprise by its USCC. Until the claim is verified
//! the account holds `claimant:<USCC>`: it may submit applications for that
//! enterprise, which are marked unverified and visible to it alone (and to
//! staff); it sees none of the enterprise's other applications. Verified, it
//! holds `applicant:<USCC>`. The ways to verify, each recorded with the claim:
//! - [`ClaimVia::Window`]: a clerk at a hall window checks the business
//!   licence and the person;
//! - [`ClaimVia::Owner`]: the enterprise's own administrator (a verified
//!   owner) approves a colleague;
//! - [`ClaimVia::Sms`]: a one-time code sent to the contact phone of the
//!   enterprise's most recent application filed through a verified channel;
//! - [`ClaimVia::Oidc`]: the provincial portal's legal-person login names
//!   the same USCC;
//! - [`ClaimVia::Admin`]: an administrator grants the role.

use crate::application::code_enum;
use serde::{Deserialize, Serialize};

code_enum! {
    /// Where a claim stands.
    ClaimStatus {
        Pending => "pending", "待认证";
        Verified => "verified", "已认证";
        Rejected => "rejected", "未通过";
        Revoked => "revoked", "已撤销";
    }
}

code_enum! {
    /// How a claim was decided.
    ClaimVia {
        Window => "window", "营业厅窗口核验";
        Owner => "owner", "企业管理员审核";
        Sms => "sms", "短信验证码";
        Oidc => "oidc", "法人登录";
        Admin => "admin", "系统管理员";
    }
}

/// A decision on a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimDecision {
    /// Verify it; `owner` asks for the enterprise's administrator role.
    Verify { owner: bool },
    /// Refuse a pending claim.
    Reject,
    /// Take a verified claim back.
    Revoke,
    /// Make a verified member the enterprise's administrator.
    MakeOwner,
}

/// Who decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decider {
    /// A clerk at a hall window, having checked the licence and the person.
    Clerk,
    /// A verified owner of the same enterprise (never of their own claim).
    Owner,
    /// An administrator.
    Admin,
    /// The claimant, proving it by SMS code or legal-person login.
    Claimant(ClaimVia),
}

/// Why a decision is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionError {
    /// This decider may not take this decision.
    NotAllowed,
    /// The claim's status does not take this decision.
    WrongStatus,
}

impl Decider {
    /// How a verification by this decider is recorded.
    pub fn via(self) -> ClaimVia {
        match self {
            Decider::Clerk => ClaimVia::Window,
            Decider::Owner => ClaimVia::Owner,
            Decider::Admin => ClaimVia::Admin,
            Decider::Claimant(via) => via,
        }
    }
}

/// The claim a decision is about, as far as the rules need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimFacts {
    pub status: ClaimStatus,
    pub owner: bool,
    /// How it was verified, if it was.
    pub via: Option<ClaimVia>,
    /// It is the decider's own claim.
    pub own: bool,
}

/// May `decider` take `decision` on this claim? An owner never decides their
/// own claim, and revokes only members that an owner approved or that an
/// SMS code verified — never another owner, nor a claim a clerk, an
/// administrator or the legal-person login verified (that takes a clerk or
/// an administrator).
pub fn check_decision(
    decider: Decider,
    decision: ClaimDecision,
    claim: ClaimFacts,
) -> Result<(), DecisionError> {
    use ClaimDecision as D;
    use ClaimStatus as S;
    let (status, own) = (claim.status, claim.own);
    let allowed = match (decider, decision) {
        (Decider::Clerk | Decider::Admin, _) => true,
        (Decider::Owner, D::Revoke) => {
            !own && !claim.owner && matches!(claim.via, Some(ClaimVia::Owner | ClaimVia::Sms))
        }
        (Decider::Owner, _) => !own,
        (Decider::Claimant(ClaimVia::Sms | ClaimVia::Oidc), D::Verify { .. }) => own,
        (Decider::Claimant(_), _) => false,
    };
    if !allowed {
        return Err(DecisionError::NotAllowed);
    }
    let status_ok = match decision {
        // Staff may verify again what was refused or taken back; the others
        // only what is pending.
        D::Verify { .. } => match decider {
            Decider::Clerk | Decider::Admin => status != S::Verified,
            _ => status == S::Pending,
        },
        D::Reject => status == S::Pending,
        D::Revoke | D::MakeOwner => status == S::Verified,
    };
    if status_ok {
        Ok(())
    } else {
        Err(DecisionError::WrongStatus)
    }
}

/// Whether a claim verified now becomes the enterprise's administrator: the
/// legal person's own login always does; at a window (or by an
/// administrator) when asked or when the enterprise has no owner yet; a
/// colleague approved by the owner when the owner asks; an SMS code never
/// (it proves the enterprise's contact agreed, not who the person is).
pub fn owner_on_verify(via: ClaimVia, requested: bool, enterprise_has_owner: bool) -> bool {
    match via {
        ClaimVia::Oidc => true,
        ClaimVia::Window | ClaimVia::Admin => requested || !enterprise_has_owner,
        ClaimVia::Sms => false,
        ClaimVia::Owner => requested,
    }
}

/// One-time SMS codes: six digits, valid this long, not sent again sooner
/// than this; a claim gets at most [`CODES_PER_CLAIM`] codes and
/// [`CODE_MAX_ATTEMPTS`] wrong tries in all, and an enterprise's contact at
/// most [`CODES_PER_ENTERPRISE_PER_DAY`] codes (for as many claims) a day —
/// so guessing is bounded per enterprise, however many accounts claim it:
/// at most 5 × 10 tries a day against a million codes.
pub const CODE_DIGITS: usize = 6;
pub const CODE_TTL_MS: i64 = 10 * 60_000;
pub const CODE_MAX_ATTEMPTS: i64 = 10;
pub const CODE_RESEND_MS: i64 = 60_000;
pub const CODES_PER_CLAIM: i64 = 3;
pub const CODES_PER_ENTERPRISE_PER_DAY: i64 = 5;

#[cfg(test)]
mod tests {
    use super::*;
    use ClaimDecision as D;
    use ClaimStatus as S;

    fn claim(status: ClaimStatus, own: bool) -> ClaimFacts {
        ClaimFacts {
            status,
            owner: false,
            via: (status == S::Verified).then_some(ClaimVia::Owner),
            own,
        }
    }

    fn check_decision(
        d: Decider,
        x: ClaimDecision,
        s: ClaimStatus,
        own: bool,
    ) -> Result<(), DecisionError> {
        super::check_decision(d, x, claim(s, own))
    }

    #[test]
    fn owners_revoke_only_members_they_could_have_approved() {
        let member = |via, owner| ClaimFacts {
            status: S::Verified,
            owner,
            via: Some(via),
            own: false,
        };
        let revoke = |f| super::check_decision(Decider::Owner, D::Revoke, f);
        assert_eq!(revoke(member(ClaimVia::Owner, false)), Ok(()));
        assert_eq!(revoke(member(ClaimVia::Sms, false)), Ok(()));
        for strong in [ClaimVia::Window, ClaimVia::Admin, ClaimVia::Oidc] {
            assert_eq!(
                revoke(member(strong, false)),
                Err(DecisionError::NotAllowed)
            );
        }
        assert_eq!(
            revoke(member(ClaimVia::Owner, true)),
            Err(DecisionError::NotAllowed),
            "not another owner"
        );
        assert_eq!(
            super::check_decision(Decider::Clerk, D::Revoke, member(ClaimVia::Oidc, true)),
            Ok(())
        );
    }

    #[test]
    fn who_decides_what() {
        let verify = D::Verify { owner: false };
        assert_eq!(
            check_decision(Decider::Clerk, verify, S::Pending, false),
            Ok(())
        );
        assert_eq!(
            check_decision(Decider::Clerk, verify, S::Revoked, false),
            Ok(())
        );
        assert_eq!(
            check_decision(Decider::Clerk, verify, S::Verified, false),
            Err(DecisionError::WrongStatus)
        );
        assert_eq!(
            check_decision(Decider::Owner, verify, S::Pending, false),
            Ok(())
        );
        assert_eq!(
            check_decision(Decider::Owner, verify, S::Rejected, false),
            Err(DecisionError::WrongStatus)
        );
        assert_eq!(
            check_decision(Decider::Owner, D::Revoke, S::Verified, true),
            Err(DecisionError::NotAllowed),
            "an owner does not revoke their own claim"
        );
        assert_eq!(
            check_decision(Decider::Owner, D::Revoke, S::Verified, false),
            Ok(())
        );
        let sms = Decider::Claimant(ClaimVia::Sms);
        assert_eq!(check_decision(sms, verify, S::Pending, true), Ok(()));
        assert_eq!(
            check_decision(sms, verify, S::Pending, false),
            Err(DecisionError::NotAllowed)
        );
        assert_eq!(
            check_decision(sms, D::Reject, S::Pending, true),
            Err(DecisionError::NotAllowed)
        );
        assert_eq!(
            check_decision(
                Decider::Claimant(ClaimVia::Window),
                verify,
                S::Pending,
                true
            ),
            Err(DecisionError::NotAllowed)
        );
        assert_eq!(
            check_decision(Decider::Admin, D::MakeOwner, S::Pending, false),
            Err(DecisionError::WrongStatus)
        );
    }

    #[test]
    fn owners() {
        assert!(owner_on_verify(ClaimVia::Oidc, false, true));
        assert!(!owner_on_verify(ClaimVia::Sms, false, false));
        assert!(!owner_on_verify(ClaimVia::Sms, true, true));
        assert!(owner_on_verify(ClaimVia::Window, true, true));
        assert!(!owner_on_verify(ClaimVia::Window, false, true));
        assert!(!owner_on_verify(ClaimVia::Owner, false, false));
    }
}
