//! Finding the access token of a request.
//!
//! Only the `Authorization: Bearer` header counts, except on the two streaming endpoints whose
//! browser clients (EventSource, WebSocket) cannot set headers: there `?access_token=` is accepted
//! too. A token in a URL ends up in proxy and access logs and browser history, so no other route
//! may take one.

use http::HeaderMap;

use crate::TokenError;

/// The token of `Authorization: Bearer <token>`.
pub fn bearer_token(headers: &HeaderMap) -> Result<String, TokenError> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Err(TokenError::Missing);
    };
    let value = value.to_str().map_err(|_| TokenError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(token.trim().to_owned())
}

/// The header's token, or else the `access_token` query parameter: for `GET /api/ws` and
/// `GET /events` only.
pub fn bearer_token_or_query(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<String, TokenError> {
    match bearer_token(headers) {
        Err(TokenError::Missing) => query
            .and_then(|query| {
                url::form_urlencoded::parse(query.as_bytes())
                    .find(|(key, _)| key == "access_token")
                    .map(|(_, value)| value.into_owned())
            })
            .filter(|token| !token.is_empty())
            .ok_or(TokenError::Missing),
        found => found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorization(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static(value),
        );
        headers
    }

    #[test]
    fn the_header_wins_over_the_query_string() {
        assert_eq!(
            bearer_token_or_query(&authorization("Bearer abc"), Some("access_token=xyz")),
            Ok("abc".into())
        );
        assert_eq!(
            bearer_token_or_query(&HeaderMap::new(), Some("a=1&access_token=xyz")),
            Ok("xyz".into())
        );
        assert_eq!(
            bearer_token_or_query(&HeaderMap::new(), None),
            Err(TokenError::Missing)
        );
    }

    #[test]
    fn a_token_in_the_query_string_is_not_a_bearer_token() {
        assert_eq!(bearer_token(&HeaderMap::new()), Err(TokenError::Missing));
        assert_eq!(bearer_token(&authorization("Bearer abc")), Ok("abc".into()));
    }

    #[test]
    fn a_non_bearer_scheme_is_malformed() {
        assert_eq!(
            bearer_token(&authorization("Basic dXNlcjpwYXNz")),
            Err(TokenError::Malformed)
        );
    }
}
