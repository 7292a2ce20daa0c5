//! JSON request bodies that name the offending field when one is missing or not a string, with the
//! same OpenAPI description as poem-openapi's `Json<T>`.

use poem::{Request, RequestBody};
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaRequest, Registry};
use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use crate::http::problem::Problem;

/// The largest JSON body accepted (every request object here is a handful of short strings).
const MAX_JSON_BYTES: usize = 64 * 1024;

/// A request object whose fields are all required strings.
pub trait StringFields {
    const FIELDS: &'static [&'static str];
}

/// A JSON body checked field by field before it is parsed.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn reject(problem: Problem) -> poem::Error {
    poem::Error::from_response(problem.into_response())
}

impl<'a, T> ApiExtractor<'a> for JsonBody<T>
where
    T: ParseFromJSON + ToJSON + StringFields + Send + Sync,
{
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Json<T> as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        <Json<T> as ApiExtractor<'a>>::request_meta()
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let is_json = request
            .content_type()
            .is_some_and(|content_type| content_type.starts_with("application/json"));
        if !is_json {
            return Err(reject(Problem::bad_request(
                "invalid_body",
                "El cuerpo debe ser JSON (Content-Type: application/json).",
            )));
        }
        let bytes = body
            .take()?
            .into_bytes_limit(MAX_JSON_BYTES)
            .await
            .map_err(|_| {
                reject(Problem::bad_request(
                    "invalid_body",
                    "El cuerpo JSON es demasiado grande.",
                ))
            })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
            reject(Problem::bad_request(
                "invalid_body",
                "El cuerpo no es JSON válido.",
            ))
        })?;
        let Some(object) = value.as_object() else {
            return Err(reject(Problem::bad_request(
                "invalid_body",
                "El cuerpo debe ser un objeto JSON.",
            )));
        };
        for field in T::FIELDS {
            match object.get(*field) {
                Some(serde_json::Value::String(_)) => {}
                None | Some(serde_json::Value::Null) => {
                    return Err(reject(Problem::invalid_field(
                        field,
                        format!("Falta el campo «{field}»."),
                    )));
                }
                Some(_) => {
                    return Err(reject(Problem::invalid_field(
                        field,
                        format!("El campo «{field}» debe ser texto."),
                    )));
                }
            }
        }
        T::parse_from_json(Some(value)).map(Self).map_err(|error| {
            reject(Problem::bad_request(
                "invalid_body",
                format!(
                    "El cuerpo de la solicitud no es válido: {}",
                    error.message()
                ),
            ))
        })
    }
}
