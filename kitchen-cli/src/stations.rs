//! `kitchen station …`: a restaurant's stations and where its categories are made, as its
//! owner or a manager would set them up (API.md, "Kitchen floor", **Stations**).

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::demo::login;

/// Who acts, and where.
pub struct Session {
    http: reqwest::Client,
    api: String,
    access: String,
}

impl Session {
    pub async fn login(api: &str, email: &str, password: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::new();
        let access = login(&http, api, email, password).await?;
        Ok(Session {
            http,
            api: api.trim_end_matches('/').to_owned(),
            access,
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let response = request.bearer_auth(&self.access).send().await?;
        let status = response.status();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let mut reason = body["detail"].as_str().unwrap_or("").to_owned();
            // One invalid field is named in `detail` already; several are listed.
            if let Some(errors) = body["errors"].as_object().filter(|e| e.len() > 1) {
                for (field, messages) in errors {
                    reason.push_str(&format!(" {field}: {messages}"));
                }
            }
            bail!("{what} failed ({}): {reason}", status.as_u16());
        }
        Ok(body)
    }

    fn url(&self, slug: &str, path: &str) -> String {
        format!("{}/api/restaurants/{slug}/{path}", self.api)
    }
}

/// Makes a station; prints its id.
pub async fn add(session: &Session, slug: &str, name: &str) -> anyhow::Result<()> {
    let station = session
        .send(
            session
                .http
                .post(session.url(slug, "stations/"))
                .json(&json!({"name": name})),
            "creating the station",
        )
        .await?;
    println!("station {} '{}'", station["id"], text(&station["name"]));
    Ok(())
}

/// Prints the restaurant's stations, one per line: id and name.
pub async fn list(session: &Session, slug: &str) -> anyhow::Result<()> {
    let stations = session
        .send(
            session.http.get(session.url(slug, "stations/")),
            "listing the stations",
        )
        .await?;
    let stations = stations.as_array().context("not a list of stations")?;
    if stations.is_empty() {
        println!("no stations yet: kitchen station add {slug} <name>");
    }
    for station in stations {
        println!("{:>6}  {}", station["id"], text(&station["name"]));
    }
    Ok(())
}

/// Where a category is made: at a station (by id), or at none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target(pub Option<i64>);

/// A station id, or `none`.
pub fn parse_station(text: &str) -> Result<Target, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(Target(None));
    }
    text.parse::<i64>()
        .map(|id| Target(Some(id)))
        .map_err(|_| format!("'{text}' is not a station id (see `kitchen station list`) or 'none'"))
}

/// Routes a category (its items without a station of their own) to a station, or to none.
pub async fn route(
    session: &Session,
    slug: &str,
    category_id: i64,
    Target(station): Target,
) -> anyhow::Result<()> {
    let category = session
        .send(
            session
                .http
                .patch(session.url(slug, &format!("menu/categories/{category_id}/")))
                .json(&json!({"station_id": station})),
            "routing the category",
        )
        .await?;
    match station {
        Some(station) => println!(
            "category {category_id} '{}' is made at station {station} from the next order on",
            text(&category["name"])
        ),
        None => println!(
            "category {category_id} '{}' is made at no station from the next order on",
            text(&category["name"])
        ),
    }
    Ok(())
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("?")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_station_is_an_id_or_none() {
        use super::{Target, parse_station};
        assert_eq!(parse_station("3"), Ok(Target(Some(3))));
        assert_eq!(parse_station("none"), Ok(Target(None)));
        assert_eq!(parse_station("NONE"), Ok(Target(None)));
        assert!(parse_station("grill").is_err());
    }
}
