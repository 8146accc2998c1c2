//! `spoke search`: symbols and files across the registry's modules.

use anyhow::Result;
use spoke_client::{Client, SearchQuery};

/// Prints one page: a table (module@version, kind, name, file:line), or
/// with `json` the registry's body. A further page is named on stderr.
pub async fn run(client: &Client, query: SearchQuery, json: bool) -> Result<()> {
    let body = client.search(&query).await?;
    if json {
        return crate::print_json(&body);
    }
    let rows: Vec<[String; 4]> = body
        .results
        .iter()
        .map(|hit| {
            let place = if hit.line == 0 {
                hit.file.clone()
            } else {
                format!("{}:{}", hit.file, hit.line)
            };
            [
                format!("{}@{}", hit.module, hit.version),
                hit.kind.clone(),
                hit.full_name.clone(),
                place,
            ]
        })
        .collect();
    crate::print_table(["MODULE", "KIND", "NAME", "FILE"], &rows)?;
    if let Some(cursor) = body.next_cursor {
        eprintln!("more results: add --cursor {cursor}");
    }
    Ok(())
}
