use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fechatter_events::{ChatId, MessageId};
use fechatter_http::{Json, Query};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::extract::Path;
use crate::models::message::{EditMessage, MarkRead, ReadState, SendMessage};
use crate::models::{Message, Page, PageQuery};
use crate::service;
use crate::service::reactions::Reaction;
use crate::state::AppState;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on the answer to a retried send that returned the original message.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|key| {
            !key.is_empty()
                && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
                && key.bytes().all(|b| b.is_ascii_graphic())
        })
        .map(Some)
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })
}

pub async fn list(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Message>>, AppError> {
    let page = page.validate()?;
    Ok(Json(
        service::messages::list(&state, &caller, chat_id, page).await?,
    ))
}

pub async fn send(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    headers: HeaderMap,
    Json(input): Json<SendMessage>,
) -> Result<Response, AppError> {
    let key = idempotency_key(&headers)?;
    let (message, created) = service::messages::send(&state, &caller, chat_id, input, key).await?;
    let mut response = (StatusCode::CREATED, Json(message)).into_response();
    if !created {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

pub async fn edit(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path((chat_id, message_id)): Path<(ChatId, MessageId)>,
    Json(input): Json<EditMessage>,
) -> Result<Json<Message>, AppError> {
    let message =
        service::messages::edit(&state, &caller, chat_id, message_id, input.content).await?;
    Ok(Json(message))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path((chat_id, message_id)): Path<(ChatId, MessageId)>,
) -> Result<StatusCode, AppError> {
    service::messages::delete(&state, &caller, chat_id, message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_reaction(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path((chat_id, message_id, emoji)): Path<(ChatId, MessageId, String)>,
) -> Result<StatusCode, AppError> {
    service::reactions::react(&state, &caller, chat_id, message_id, &emoji, Reaction::Add).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_reaction(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path((chat_id, message_id, emoji)): Path<(ChatId, MessageId, String)>,
) -> Result<StatusCode, AppError> {
    service::reactions::react(
        &state,
        &caller,
        chat_id,
        message_id,
        &emoji,
        Reaction::Remove,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn mark_read(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    Json(input): Json<MarkRead>,
) -> Result<Json<ReadState>, AppError> {
    let read = service::reactions::mark_read(&state, &caller, chat_id, input.message_id).await?;
    Ok(Json(read))
}
