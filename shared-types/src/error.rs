use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The one error body of both services: `{"detail": "...", "errors": {field: [messages]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

impl ErrorBody {
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            errors: None,
        }
    }
}
