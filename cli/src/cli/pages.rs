//! Lists across pages: the list routes answer a page at a time and name the next in the
//! `kvitt-next` header (spec/api.md §Paging); the list commands follow those pages until
//! the list ends or `--limit` entries are in, and say where to go on if they stop early.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::{query, Client, Failure};
use super::output::{self, Output};

/// Most entries a page asks for.
pub const PAGE_ENTRIES: usize = 1000;

/// Most entries a list command gathers without `--limit`: beyond it, it stops and says
/// where to go on (`--after`), instead of holding an unbounded list in memory.
pub const MAX_LIST_ENTRIES: usize = 100_000;

/// The paging flags of a list command.
#[derive(Debug, Default, clap::Args)]
pub struct Paging {
    /// At most this many entries in all (default: the whole list, up to 100000); the
    /// command follows the node's pages.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Start after this cursor (printed by a list that stopped early: "more follow").
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<String>,
}

/// The entries of `route` with the query `params`, page after page as `paging` says, and
/// the cursor to go on from if the list goes on.
pub fn gather(
    client: &Client,
    route: &str,
    params: &[(&str, Option<String>)],
    paging: &Paging,
) -> Result<(Vec<Value>, Option<String>), Failure> {
    let limit = paging.limit.unwrap_or(MAX_LIST_ENTRIES);
    let mut entries: Vec<Value> = Vec::new();
    let mut after = paging.after.clone();
    while entries.len() < limit {
        let wanted = (limit - entries.len()).min(PAGE_ENTRIES);
        let mut pairs = params.to_vec();
        pairs.push(("limit", Some(wanted.to_string())));
        pairs.push(("after", after.clone()));
        let (body, headers) = client.get_bytes(&format!("{route}{}", query(&pairs)))?;
        let page: Vec<Value> = output::parse(&String::from_utf8_lossy(&body))?;
        entries.extend(page);
        let next = headers.get(kvitt_node::api::NEXT_HEADER).and_then(|value| value.to_str().ok());
        match next {
            Some(next) => after = Some(next.to_owned()),
            None => return Ok((entries, None)),
        }
    }
    Ok((entries, after))
}

/// Prints a gathered list: the JSON array with `--json`, else `render` of its entries;
/// then, on standard error, where to go on if it stopped early.
pub fn print<T: DeserializeOwned>(
    output: &Output,
    (entries, next): (Vec<Value>, Option<String>),
    render: impl FnOnce(Vec<T>) -> String,
) -> Result<(), Failure> {
    let json = Value::Array(entries);
    if output.is_json() {
        output::print(&json.to_string())?;
    } else {
        let entries: Vec<T> = serde_json::from_value(json).map_err(|error| {
            Failure::Other(anyhow::anyhow!("the node's answer is not what this kvitt expects: {error}"))
        })?;
        output::print(&render(entries))?;
    }
    if let Some(next) = next {
        eprintln!("kvitt: more follow: give --after {next} for the next entries");
    }
    Ok(())
}
