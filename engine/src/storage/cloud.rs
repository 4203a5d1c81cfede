//! The clouds Strata reaches (S3, GCS, Azure): their URL schemes, the settings each takes and
//! how a user configures them.

use crate::error::{Error, Result};

/// The clouds Strata can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cloud {
    S3,
    Gcs,
    Azure,
}

impl Cloud {
    pub(super) fn of_scheme(scheme: &str) -> Option<Cloud> {
        match scheme {
            "s3" | "s3a" => Some(Cloud::S3),
            "gs" => Some(Cloud::Gcs),
            "az" | "azure" | "abfs" | "abfss" | "adl" => Some(Cloud::Azure),
            _ => None,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Cloud::S3 => "S3",
            Cloud::Gcs => "GCS",
            Cloud::Azure => "Azure",
        }
    }

    /// What to set to configure this cloud, for error messages.
    pub(super) fn how_to_configure(self, key: &str) -> String {
        let env = match self {
            Cloud::S3 => {
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_ENDPOINT_URL for S3-compatible stores such as MinIO or R2)"
            }
            Cloud::Gcs => "set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file",
            Cloud::Azure => {
                "set AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_KEY"
            }
        };
        format!("{env}, or add a [stores.\"{key}\"] section to strata.toml")
    }

    /// Whether the environment configures this cloud for every bucket.
    pub(super) fn configured_by(self, env: &[(String, String)]) -> bool {
        let has = |name: &str| env.iter().any(|(k, v)| k == name && !v.is_empty());
        match self {
            Cloud::S3 => {
                has("AWS_ACCESS_KEY_ID")
                    || has("AWS_WEB_IDENTITY_TOKEN_FILE")
                    || has("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                    || has("AWS_CONTAINER_CREDENTIALS_FULL_URI")
                    || env
                        .iter()
                        .any(|(k, v)| k == "AWS_SKIP_SIGNATURE" && v.eq_ignore_ascii_case("true"))
            }
            Cloud::Gcs => {
                has("GOOGLE_APPLICATION_CREDENTIALS")
                    || has("GOOGLE_SERVICE_ACCOUNT")
                    || has("GOOGLE_SERVICE_ACCOUNT_PATH")
                    || has("GOOGLE_SERVICE_ACCOUNT_KEY")
            }
            Cloud::Azure => {
                has("AZURE_STORAGE_ACCOUNT_NAME")
                    || env.iter().any(|(k, v)| {
                        k == "AZURE_STORAGE_USE_EMULATOR" && v.eq_ignore_ascii_case("true")
                    })
            }
        }
    }
}

pub(super) fn unsupported_scheme(location: &str, scheme: &str) -> Error {
    Error::Location {
        location: location.to_string(),
        reason: format!(
            "unsupported scheme '{scheme}://'; use s3://, gs://, az://, abfss://, file:// or a local path"
        ),
    }
}

/// Settings parsed as one cloud's keys, and the `allow_http` setting apart (it belongs to the
/// HTTP client options, which are set as a whole).
pub(super) struct Settings<K> {
    pub(super) keys: Vec<(K, String)>,
    pub(super) allow_http: Option<bool>,
}

/// Parse `pairs` as keys of one cloud (`AWS_REGION` and `region` alike). With `unknown`, a key
/// the cloud does not know is an error; without, it is skipped (environment variables).
pub(super) fn settings<'a, K: std::str::FromStr>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    unknown: Option<&dyn Fn(&str) -> Error>,
) -> Result<Settings<K>> {
    let mut out = Settings {
        keys: Vec::new(),
        allow_http: None,
    };
    for (k, v) in pairs {
        let lower = k.to_ascii_lowercase();
        if lower.ends_with("allow_http") {
            out.allow_http = Some(v.eq_ignore_ascii_case("true"));
            continue;
        }
        match (lower.parse::<K>(), unknown) {
            (Ok(key), _) => out.keys.push((key, v.to_string())),
            (Err(_), Some(bad)) => return Err(bad(k)),
            (Err(_), None) => {}
        }
    }
    Ok(out)
}

/// The parsed key file at `path` when it holds a service account.
pub(super) fn service_account_file(path: &str) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    (value.get("type").and_then(|t| t.as_str()) == Some("service_account")).then_some(value)
}
