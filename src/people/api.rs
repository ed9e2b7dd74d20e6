//! The JSON API of people: `/api/v1/me`, users, API tokens and invites. Admin-only except `me`;
//! every change is audit-logged like the admin pages' actions. Lists page by cursor.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::extract::{ClientIp, Via};
use crate::auth::{CurrentUser, RequireAdmin};
use crate::clock::rfc3339;
use crate::db::users::User;
use crate::domain::ids::{InviteId, UserId};
use crate::domain::role::Role;
use crate::domain::token_scope::TokenScope;
use crate::error::Result;
use crate::http::extract::{Id, Json};
use crate::http::openapi::ErrorBody;
use crate::http::page::PageQuery;
use crate::people::invites::{self, InviteRequest, Listed};
use crate::people::passwords::NewPassword;
use crate::people::users::{self, NewUser, Origin};
use crate::people::{Actor, Store, tokens};
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        me,
        list_users,
        create_user,
        create_token,
        list_invites,
        create_invite,
        revoke_invite
    ),
    components(schemas(
        Me,
        UserJson,
        UserList,
        NewUserRequest,
        CreatedUser,
        NewTokenRequest,
        CreatedToken,
        TokenScope,
        InviteJson,
        InviteList,
        InviteRequest,
        CreatedInvite
    ))
)]
pub struct ApiDoc;

/// The caller.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: UserId,
    pub username: String,
    /// `admin`, `reviewer` or `rater`.
    #[schema(value_type = String, example = "rater")]
    pub role: Role,
    /// How the request was authenticated: `token` or `session`.
    #[schema(example = "token")]
    pub via: &'static str,
    /// The API token's scope (absent for a session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<TokenScope>,
}

/// Who is calling.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "people",
    responses(
        (status = 200, body = Me, description = "The signed-in user"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
    )
)]
pub async fn me(CurrentUser(ctx): CurrentUser) -> axum::Json<Me> {
    let (via, scope) = match ctx.via {
        Via::Bearer { scope, .. } => ("token", Some(scope)),
        Via::Session { .. } => ("session", None),
    };
    axum::Json(Me {
        id: ctx.user.id,
        username: ctx.user.username,
        role: ctx.user.role,
        via,
        scope,
    })
}

/// A user as the API lists them.
#[derive(Serialize, ToSchema)]
pub struct UserJson {
    pub id: UserId,
    pub username: String,
    #[schema(value_type = String, example = "rater")]
    pub role: Role,
    pub active: bool,
    /// False for workers that exist only as the authors of imported labels.
    pub can_login: bool,
    /// RFC 3339.
    pub created_at: String,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        UserJson {
            id: u.id,
            username: u.username,
            role: u.role,
            active: u.active,
            can_login: u.can_login,
            created_at: rfc3339(u.created_at),
        }
    }
}

/// A page of users, by username.
#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserJson>,
    /// Pass back as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Every account, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "people",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = UserList, description = "One page of users, by username"),
        (status = 400, body = ErrorBody, description = "A bad limit or cursor"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<UserList>> {
    let (rows, next_cursor) = users::page(&state, q.parse()?).await?;
    Ok(axum::Json(UserList {
        users: rows.into_iter().map(UserJson::from).collect(),
        next_cursor,
    }))
}

/// `{"username", "role", "password"?}`. Without a password the account can only use API tokens
/// until an admin sends it a password link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub username: String,
    #[schema(value_type = String, example = "rater")]
    pub role: Role,
    #[serde(default)]
    pub password: Option<String>,
}

/// An account just made.
#[derive(Serialize, ToSchema)]
pub struct CreatedUser {
    pub id: UserId,
    pub username: String,
    #[schema(value_type = String, example = "rater")]
    pub role: Role,
    pub active: bool,
    pub has_password: bool,
}

/// Makes an account (for scripts that recruit raters without a browser).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "people",
    request_body = NewUserRequest,
    responses(
        (status = 201, body = CreatedUser, description = "The account"),
        (status = 400, body = ErrorBody, description = "`invalid_username`, `weak_password` or `invalid_json`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 409, body = ErrorBody, description = "`username_taken`"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Json(req): Json<NewUserRequest>,
) -> Result<Response> {
    let new = NewUser {
        username: req.username,
        role: req.role,
        password: req.password.map(NewPassword::new),
    };
    let actor = Actor::user(ctx.user.id, &ip);
    let made = users::create(Store::of(&state), new, Origin::Api, actor).await?;
    let body = CreatedUser {
        id: made.id,
        username: made.username,
        role: made.role,
        active: true,
        has_password: made.has_password,
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `{"username", "name"?}`: a token for that user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    pub username: String,
    /// What the token is for (1 to 100 characters; default `api`).
    #[serde(default)]
    pub name: Option<String>,
    /// What the token may do (default `full`: everything its owner may).
    #[serde(default)]
    pub scope: Option<TokenScope>,
}

/// A token just made: shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// The bearer token (`qrm_…`).
    pub token: String,
    pub username: String,
    pub user_id: UserId,
    pub name: String,
    pub scope: TokenScope,
}

/// Makes an API token for an active user.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "people",
    request_body = NewTokenRequest,
    responses(
        (status = 201, body = CreatedToken, description = "The token, shown this once"),
        (status = 400, body = ErrorBody, description = "`unknown_user`, `invalid_name` or `invalid_json`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Json(req): Json<NewTokenRequest>,
) -> Result<Response> {
    let name = req.name.as_deref().unwrap_or("api");
    let actor = Actor::user(ctx.user.id, &ip);
    let scope = req.scope.unwrap_or_default();
    let made = tokens::create_for(Store::of(&state), &req.username, name, scope, actor).await?;
    let body = CreatedToken {
        token: made.token,
        username: made.username,
        user_id: made.user_id,
        name: made.name,
        scope: made.scope,
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// An invite as the API lists it (never its token).
#[derive(Serialize, ToSchema)]
pub struct InviteJson {
    pub id: i64,
    pub role: String,
    pub task_id: Option<i64>,
    pub max_uses: i64,
    pub uses: i64,
    /// RFC 3339; null when it never expires.
    pub expires_at: Option<String>,
    pub note: String,
    /// The admin who made it.
    pub created_by: String,
    /// `open`, `revoked`, `expired` or `used up`.
    pub state: String,
}

impl From<Listed> for InviteJson {
    fn from(l: Listed) -> Self {
        let i = l.invite;
        InviteJson {
            id: i.id.0,
            role: i.role.as_str().to_owned(),
            task_id: i.task_id.map(|t| t.0),
            max_uses: i.max_uses,
            uses: i.uses,
            expires_at: i.expires_at.map(rfc3339),
            note: i.note,
            created_by: i.created_by_name,
            state: l.state.to_string(),
        }
    }
}

/// A page of invites, newest first.
#[derive(Serialize, ToSchema)]
pub struct InviteList {
    pub invites: Vec<InviteJson>,
    /// Pass back as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Every invite, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/invites",
    tag = "people",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = InviteList, description = "One page of invites, newest first"),
        (status = 400, body = ErrorBody, description = "A bad limit or cursor"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
    )
)]
pub async fn list_invites(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<InviteList>> {
    let (rows, next_cursor) = invites::page(&state, q.parse()?).await?;
    Ok(axum::Json(InviteList {
        invites: rows.into_iter().map(InviteJson::from).collect(),
        next_cursor,
    }))
}

/// An invite just made: its link is shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedInvite {
    pub id: InviteId,
    pub url: String,
}

/// Makes an invite link.
#[utoipa::path(
    post,
    path = "/api/v1/invites",
    tag = "people",
    request_body = InviteRequest,
    responses(
        (status = 201, body = CreatedInvite, description = "The invite and its link"),
        (status = 400, body = ErrorBody, description = "`invalid_max_uses`, `invalid_expiry`, `invalid_note`, `unknown_task` or `invalid_json`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin (or no CSRF token with a session)"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
    )
)]
pub async fn create_invite(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Json(req): Json<InviteRequest>,
) -> Result<Response> {
    let (id, url) = invites::create(&state, Actor::user(ctx.user.id, &ip), &req).await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedInvite { id, url })).into_response())
}

/// Revokes an invite.
#[utoipa::path(
    delete,
    path = "/api/v1/invites/{id}",
    tag = "people",
    params(("id" = i64, Path, description = "The invite's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such invite, or revoked already"),
    )
)]
pub async fn revoke_invite(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
) -> Result<StatusCode> {
    invites::revoke(&state, Actor::user(ctx.user.id, &ip), InviteId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn every_route_and_answer_is_in_the_document() {
        let doc = serde_json::to_value(super::ApiDoc::openapi()).unwrap();
        for (path, method) in [
            ("/api/v1/me", "get"),
            ("/api/v1/users", "get"),
            ("/api/v1/users", "post"),
            ("/api/v1/tokens", "post"),
            ("/api/v1/invites", "get"),
            ("/api/v1/invites", "post"),
            ("/api/v1/invites/{id}", "delete"),
        ] {
            let op = &doc["paths"][path][method];
            assert!(op.is_object(), "{method} {path}");
            assert_eq!(op["tags"][0], "people", "{method} {path}");
        }
        let lists = &doc["paths"]["/api/v1/invites"]["get"]["parameters"];
        let names: Vec<&str> = lists
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["limit", "cursor"]);
        let schemas = &doc["components"]["schemas"];
        for name in [
            "Me",
            "UserList",
            "CreatedUser",
            "CreatedToken",
            "InviteList",
            "InviteRequest",
        ] {
            assert!(schemas[name].is_object(), "{name}");
        }
        assert!(schemas["InviteList"]["properties"]["next_cursor"].is_object());
    }
}
