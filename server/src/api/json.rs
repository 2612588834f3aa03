//! A JSON body extractor whose every rejection is a JSON error with a clear message.
use super::error::error_response;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                let status = rejection.status();
                let (code, message) = match &rejection {
                    JsonRejection::MissingJsonContentType(_) => (
                        "unsupported_media_type",
                        "send the body as JSON with Content-Type: application/json".to_string(),
                    ),
                    JsonRejection::JsonSyntaxError(e) => ("malformed_json", e.body_text()),
                    JsonRejection::JsonDataError(e) => ("invalid", e.body_text()),
                    JsonRejection::BytesRejection(e) => ("body_rejected", e.body_text()),
                    other => ("bad_request", other.body_text()),
                };
                Err(error_response(status, code, message, None).into_response())
            }
        }
    }
}
