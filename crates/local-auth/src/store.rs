//! GoTrue's tables: users, sessions and refresh tokens. Every statement is
//! parameterized; users are rendered to GoTrue's JSON by SQL.

use deadpool_postgres::GenericClient;
use serde_json::Value;
use uuid::Uuid;

use crate::error::AuthError;

/// A user as GoTrue's API renders it (`models.User`; null fields omitted).
/// There is no `auth.identities` here: the email identity is derived.
const USER_JSON: &str = "jsonb_strip_nulls(jsonb_build_object(
  'id', u.id, 'aud', coalesce(u.aud, ''), 'role', coalesce(u.role, ''),
  'email', coalesce(u.email, ''), 'email_confirmed_at', u.email_confirmed_at,
  'phone', coalesce(u.phone, ''), 'confirmed_at', u.email_confirmed_at,
  'last_sign_in_at', u.last_sign_in_at,
  'app_metadata', coalesce(u.raw_app_meta_data, '{}'::jsonb),
  'user_metadata', coalesce(u.raw_user_meta_data, '{}'::jsonb),
  'identities', case when u.email is null then '[]'::jsonb else jsonb_build_array(jsonb_build_object(
    'identity_id', u.id, 'id', u.id::text, 'user_id', u.id, 'provider', 'email', 'email', u.email,
    'identity_data', jsonb_build_object('sub', u.id::text, 'email', u.email,
      'email_verified', u.email_confirmed_at is not null, 'phone_verified', false),
    'created_at', u.created_at, 'updated_at', u.updated_at)) end,
  'created_at', u.created_at, 'updated_at', u.updated_at, 'banned_until', u.banned_until,
  'is_anonymous', u.is_anonymous))";

pub async fn user_json(client: &impl GenericClient, id: Uuid) -> Result<Option<Value>, AuthError> {
    let sql = format!("select {USER_JSON} from auth.users u where u.id = $1");
    Ok(client.query_opt(&sql, &[&id]).await?.map(|row| row.get(0)))
}

/// Inserts a confirmed email user; `None` when the email is taken.
pub async fn insert_user(
    client: &impl GenericClient,
    email: &str,
    password_hash: &str,
    user_metadata: &Value,
    app_metadata: &Value,
) -> Result<Option<Uuid>, AuthError> {
    let row = client
        .query_opt(
            "insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
               email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
             values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated',
               'authenticated', $1, $2, now(),
               jsonb_build_object('provider', 'email', 'providers', jsonb_build_array('email')) || $4,
               $3, now(), now())
             on conflict (email) where is_sso_user = false do nothing
             returning id",
            &[&email, &password_hash, user_metadata, app_metadata],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// What a password sign-in needs to know about the user with this email.
pub struct PasswordUser {
    pub id: Uuid,
    pub password_hash: Option<String>,
    pub banned: bool,
    pub confirmed: bool,
}

pub async fn password_user(
    client: &impl GenericClient,
    email: &str,
) -> Result<Option<PasswordUser>, AuthError> {
    let row = client
        .query_opt(
            "select id, encrypted_password, coalesce(banned_until > now(), false),
                    email_confirmed_at is not null
             from auth.users
             where email = $1 and is_sso_user = false and deleted_at is null",
            &[&email],
        )
        .await?;
    Ok(row.map(|row| PasswordUser {
        id: row.get(0),
        password_hash: row.get::<_, Option<String>>(1).filter(|h| !h.is_empty()),
        banned: row.get(2),
        confirmed: row.get(3),
    }))
}

/// A new session with its first refresh token.
pub async fn start_session(
    client: &impl GenericClient,
    user_id: Uuid,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> Result<(Uuid, String), AuthError> {
    let session_id = Uuid::new_v4();
    let token = new_refresh_token();
    client
        .execute(
            "insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip)
             values ($1, $2, now(), now(), 'aal1', $3, $4::text::inet)",
            &[&session_id, &user_id, &user_agent, &ip],
        )
        .await?;
    client
        .execute(
            "insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, session_id)
             values ('00000000-0000-0000-0000-000000000000', $1, $2::uuid::text, false, now(), now(), $3)",
            &[&token, &user_id, &session_id],
        )
        .await?;
    client
        .execute(
            "update auth.users set last_sign_in_at = now() where id = $1",
            &[&user_id],
        )
        .await?;
    Ok((session_id, token))
}

/// A refresh token, locked for the exchange.
pub struct RefreshTokenRow {
    pub id: i64,
    pub revoked: bool,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub seconds_since_update: f64,
    pub session_created_epoch: i64,
}

pub async fn lock_refresh_token(
    client: &impl GenericClient,
    token: &str,
) -> Result<Option<RefreshTokenRow>, AuthError> {
    let row = client
        .query_opt(
            "select t.id, t.revoked, s.id, s.user_id,
                    extract(epoch from now() - t.updated_at)::float8,
                    extract(epoch from s.created_at)::int8
             from auth.refresh_tokens t
             join auth.sessions s on s.id = t.session_id
             where t.token = $1
             for update of t, s",
            &[&token],
        )
        .await?;
    Ok(row.map(|row| RefreshTokenRow {
        id: row.get(0),
        revoked: row.get(1),
        session_id: row.get(2),
        user_id: row.get(3),
        seconds_since_update: row.get(4),
        session_created_epoch: row.get(5),
    }))
}

/// The session's live refresh token and its parent, if any.
pub async fn active_refresh_token(
    client: &impl GenericClient,
    session_id: Uuid,
) -> Result<Option<(String, Option<String>)>, AuthError> {
    let row = client
        .query_opt(
            "select token, parent from auth.refresh_tokens
             where session_id = $1 and not revoked order by id desc limit 1",
            &[&session_id],
        )
        .await?;
    Ok(row.map(|row| (row.get(0), row.get(1))))
}

/// Revokes `parent` and issues its child in the same session.
pub async fn rotate_refresh_token(
    client: &impl GenericClient,
    parent: &RefreshTokenRow,
    parent_token: &str,
) -> Result<String, AuthError> {
    let token = new_refresh_token();
    client
        .execute(
            "update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1",
            &[&parent.id],
        )
        .await?;
    client
        .execute(
            "insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, session_id, parent)
             values ('00000000-0000-0000-0000-000000000000', $1, $2::uuid::text, false, now(), now(), $3, $4)",
            &[&token, &parent.user_id, &parent.session_id, &parent_token],
        )
        .await?;
    client
        .execute(
            "update auth.sessions set refreshed_at = now(), updated_at = now() where id = $1",
            &[&parent.session_id],
        )
        .await?;
    Ok(token)
}

/// Ends sessions (their refresh tokens go with them, on delete cascade).
pub async fn end_sessions(
    client: &impl GenericClient,
    user_id: Uuid,
    only: Option<Uuid>,
    except: Option<Uuid>,
) -> Result<u64, AuthError> {
    Ok(client
        .execute(
            "delete from auth.sessions
             where user_id = $1 and ($2::uuid is null or id = $2) and ($3::uuid is null or id <> $3)",
            &[&user_id, &only, &except],
        )
        .await?)
}

pub async fn session_exists(client: &impl GenericClient, id: Uuid) -> Result<bool, AuthError> {
    Ok(client
        .query_opt("select 1 from auth.sessions where id = $1", &[&id])
        .await?
        .is_some())
}

/// Refresh tokens are opaque: 32 hex characters, 122 random bits.
fn new_refresh_token() -> String {
    Uuid::new_v4().simple().to_string()
}

pub async fn update_user(
    client: &impl GenericClient,
    id: Uuid,
    password_hash: Option<&str>,
    user_metadata: Option<&Value>,
) -> Result<(), AuthError> {
    // GoTrue merges `data` into user_metadata; a null value removes the key.
    client
        .execute(
            "update auth.users set
               encrypted_password = coalesce($2, encrypted_password),
               raw_user_meta_data = case when $3::jsonb is null then raw_user_meta_data
                 else jsonb_strip_nulls(coalesce(raw_user_meta_data, '{}'::jsonb) || $3::jsonb) end,
               updated_at = now()
             where id = $1",
            &[&id, &password_hash, &user_metadata],
        )
        .await?;
    Ok(())
}

pub async fn current_password_hash(
    client: &impl GenericClient,
    id: Uuid,
) -> Result<Option<String>, AuthError> {
    let row = client
        .query_opt(
            "select encrypted_password from auth.users where id = $1",
            &[&id],
        )
        .await?;
    Ok(row.and_then(|row| row.get::<_, Option<String>>(0)))
}

/// One page of users, oldest first, and the total.
pub async fn list_users(
    client: &impl GenericClient,
    page: i64,
    per_page: i64,
) -> Result<(Vec<Value>, i64), AuthError> {
    let sql = format!(
        "select {USER_JSON} from auth.users u order by u.created_at, u.id limit $1 offset $2"
    );
    let rows = client
        .query(&sql, &[&per_page, &((page - 1) * per_page)])
        .await?;
    let total: i64 = client
        .query_one("select count(*) from auth.users", &[])
        .await?
        .get(0);
    Ok((rows.iter().map(|row| row.get(0)).collect(), total))
}

pub async fn delete_user(client: &impl GenericClient, id: Uuid) -> Result<bool, AuthError> {
    Ok(client
        .execute("delete from auth.users where id = $1", &[&id])
        .await?
        > 0)
}
