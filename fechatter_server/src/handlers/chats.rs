use axum::extract::State;
use fechatter_events::{ChatId, UserId};
use fechatter_http::{Json, Query};
use http::StatusCode;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::extract::Path;
use crate::models::chat::{AddMember, CreateChat, PublicChannel, UpdateChat};
use crate::models::{Chat, Member, Page, PageQuery};
use crate::service;
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    caller: CurrentUser,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Chat>>, AppError> {
    let page = page.validate()?;
    Ok(Json(service::chats::list(&state, &caller, page).await?))
}

pub async fn public_channels(
    State(state): State<AppState>,
    caller: CurrentUser,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<PublicChannel>>, AppError> {
    let page = page.validate()?;
    Ok(Json(
        service::chats::public_channels(&state, &caller, page).await?,
    ))
}

/// 201 for a new chat; 200 with the existing one when a direct chat with that user exists.
pub async fn create(
    State(state): State<AppState>,
    caller: CurrentUser,
    Json(input): Json<CreateChat>,
) -> Result<(StatusCode, Json<Chat>), AppError> {
    let (chat, created) = service::chats::create(&state, &caller, input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(chat)))
}

pub async fn get(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
) -> Result<Json<Chat>, AppError> {
    Ok(Json(service::chats::get(&state, &caller, chat_id).await?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    Json(input): Json<UpdateChat>,
) -> Result<Json<Chat>, AppError> {
    Ok(Json(
        service::chats::update(&state, &caller, chat_id, input).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
) -> Result<StatusCode, AppError> {
    service::chats::delete(&state, &caller, chat_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn members(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Member>>, AppError> {
    let page = page.validate()?;
    Ok(Json(
        service::members::list(&state, &caller, chat_id, page).await?,
    ))
}

pub async fn add_member(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(chat_id): Path<ChatId>,
    Json(input): Json<AddMember>,
) -> Result<(StatusCode, Json<Member>), AppError> {
    let member = service::members::add(&state, &caller, chat_id, input).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

pub async fn remove_member(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path((chat_id, user_id)): Path<(ChatId, UserId)>,
) -> Result<StatusCode, AppError> {
    service::members::remove(&state, &caller, chat_id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
