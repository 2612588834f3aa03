//! The request's parameters as Prometheus reads them: the query string, and for POST a
//! form body as well.
use super::answer::failure;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// The request's parameters: the query string, and for POST the form body as well.
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut params: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
            .unwrap_or_default();
        if req.method() == Method::POST {
            let form = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            let body = Bytes::from_request(req, state).await.map_err(|e| {
                failure("bad_data", StatusCode::BAD_REQUEST, &e.to_string()).into_response()
            })?;
            if form {
                let more: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(&body).map_err(|e| {
                        failure("bad_data", StatusCode::BAD_REQUEST, &e.to_string()).into_response()
                    })?;
                params.extend(more);
            }
        }
        Ok(Params(params))
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}
