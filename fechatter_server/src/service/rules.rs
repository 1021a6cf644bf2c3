//! Who may do what in a chat. Every chat has one owner (its creator); the owner may make members
//! admins when adding them.
//!
//! | action | allowed to |
//! |---|---|
//! | read the chat, its members and messages; send, react, mark read | any member |
//! | rename or describe the chat | owner, admin |
//! | add a member | owner, admin; an admin only by the owner; any workspace user may add *themselves* to a public channel (join) |
//! | remove a member | owner: anyone else; admin: plain members; anyone: themselves (leave), except the owner |
//! | delete the chat | owner |
//! | edit or delete a message | its author |
//! | read a message's edit history, list the pins | any member |
//! | pin or unpin a message | any member of a direct chat or group; owner, admin in a channel (a channel's pins are its notice board) |
//! | bring the workspace bot in by mentioning `@bot` | whoever may add members, unless the bot was removed from the chat (then only an explicit add brings it back) |
//!
//! Direct chats are fixed: no rename, no membership change, no deletion. Anyone who is not a
//! member (or is in another workspace) is told the chat does not exist.

use fechatter_events::ChatType;

use crate::error::AppError;
use crate::models::Role;

pub fn not_direct(chat_type: ChatType) -> Result<(), AppError> {
    if chat_type == ChatType::Direct {
        return Err(AppError::invalid(
            "direct_chat_immutable",
            "a direct chat cannot be renamed, deleted or have its members changed",
        ));
    }
    Ok(())
}

pub fn may_update(role: Role) -> Result<(), AppError> {
    if role >= Role::Admin {
        return Ok(());
    }
    Err(AppError::Forbidden(
        "only the owner or an admin may change this chat",
    ))
}

pub fn may_delete(role: Role) -> Result<(), AppError> {
    if role == Role::Owner {
        return Ok(());
    }
    Err(AppError::Forbidden("only the owner may delete this chat"))
}

/// Pins are shared by everyone in the chat: in a small chat anyone may curate them, in a channel
/// only those who run it.
pub fn may_pin(chat_type: ChatType, role: Role) -> Result<(), AppError> {
    match chat_type {
        ChatType::Direct | ChatType::Group => Ok(()),
        ChatType::PrivateChannel | ChatType::PublicChannel if role >= Role::Admin => Ok(()),
        ChatType::PrivateChannel | ChatType::PublicChannel => Err(AppError::Forbidden(
            "only the owner or an admin may pin or unpin in a channel",
        )),
    }
}

/// `actor` is the caller's role, `None` when they are not a member.
pub fn may_add(
    chat_type: ChatType,
    actor: Option<Role>,
    adding_self: bool,
    new_role: Role,
) -> Result<(), AppError> {
    if new_role == Role::Owner {
        return Err(AppError::invalid(
            "invalid_role",
            "a member can be added as member or admin",
        ));
    }
    let Some(actor) = actor else {
        if chat_type == ChatType::PublicChannel && adding_self && new_role == Role::Member {
            return Ok(());
        }
        return Err(AppError::NotFound("chat"));
    };
    if new_role == Role::Admin && actor != Role::Owner {
        return Err(AppError::Forbidden("only the owner may add an admin"));
    }
    if actor >= Role::Admin {
        return Ok(());
    }
    Err(AppError::Forbidden(
        "only the owner or an admin may add members",
    ))
}

pub fn may_remove(actor: Role, target: Role, removing_self: bool) -> Result<(), AppError> {
    if removing_self {
        if actor == Role::Owner {
            return Err(AppError::invalid(
                "owner_cannot_leave",
                "the owner cannot leave the chat; delete it instead",
            ));
        }
        return Ok(());
    }
    match (actor, target) {
        (Role::Owner, _) | (Role::Admin, Role::Member) => Ok(()),
        _ => Err(AppError::Forbidden(
            "you may not remove this member from the chat",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<(), AppError>) -> &'static str {
        match result {
            Ok(()) => "ok",
            Err(AppError::Forbidden(_)) => "forbidden",
            Err(AppError::NotFound(_)) => "not_found",
            Err(AppError::Invalid { code, .. }) => code,
            Err(_) => "other",
        }
    }

    #[test]
    fn only_owners_and_admins_change_a_chat_and_only_owners_delete_it() {
        assert_eq!(code(may_update(Role::Admin)), "ok");
        assert_eq!(code(may_update(Role::Member)), "forbidden");
        assert_eq!(code(may_delete(Role::Admin)), "forbidden");
        assert_eq!(code(may_delete(Role::Owner)), "ok");
        assert_eq!(code(not_direct(ChatType::Direct)), "direct_chat_immutable");
    }

    #[test]
    fn anyone_pins_in_small_chats_and_only_owners_and_admins_in_channels() {
        use ChatType::*;
        assert_eq!(code(may_pin(Direct, Role::Member)), "ok");
        assert_eq!(code(may_pin(Group, Role::Member)), "ok");
        assert_eq!(code(may_pin(PublicChannel, Role::Member)), "forbidden");
        assert_eq!(code(may_pin(PrivateChannel, Role::Member)), "forbidden");
        assert_eq!(code(may_pin(PublicChannel, Role::Admin)), "ok");
        assert_eq!(code(may_pin(PrivateChannel, Role::Owner)), "ok");
    }

    #[test]
    fn adding_members_follows_the_table() {
        use ChatType::*;
        assert_eq!(
            code(may_add(Group, Some(Role::Admin), false, Role::Member)),
            "ok"
        );
        assert_eq!(
            code(may_add(Group, Some(Role::Admin), false, Role::Admin)),
            "forbidden"
        );
        assert_eq!(
            code(may_add(Group, Some(Role::Owner), false, Role::Admin)),
            "ok"
        );
        assert_eq!(
            code(may_add(Group, Some(Role::Member), false, Role::Member)),
            "forbidden"
        );
        assert_eq!(code(may_add(PublicChannel, None, true, Role::Member)), "ok");
        assert_eq!(
            code(may_add(PublicChannel, None, false, Role::Member)),
            "not_found"
        );
        assert_eq!(
            code(may_add(PrivateChannel, None, true, Role::Member)),
            "not_found"
        );
        assert_eq!(
            code(may_add(Group, Some(Role::Owner), false, Role::Owner)),
            "invalid_role"
        );
    }

    #[test]
    fn removing_members_follows_the_table() {
        assert_eq!(code(may_remove(Role::Member, Role::Member, true)), "ok");
        assert_eq!(
            code(may_remove(Role::Owner, Role::Owner, true)),
            "owner_cannot_leave"
        );
        assert_eq!(code(may_remove(Role::Owner, Role::Admin, false)), "ok");
        assert_eq!(code(may_remove(Role::Admin, Role::Member, false)), "ok");
        assert_eq!(
            code(may_remove(Role::Admin, Role::Admin, false)),
            "forbidden"
        );
        assert_eq!(
            code(may_remove(Role::Member, Role::Member, false)),
            "forbidden"
        );
    }
}
